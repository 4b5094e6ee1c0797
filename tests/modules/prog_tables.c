/*
 * A program module exercising what a converter must get right: function
 * pointer tables in relocated read-only data, string tables, a switch that
 * compiles to a jump table, static and global data, constructors and
 * destructors (with priorities), a COMMON symbol and calls into another
 * module (lib_counter).
 */
struct myriad_ctx;

extern int counter_value;
int counter_add(int x);
int counter_total(void);

static int square(int x) { return x * x; }
static int twice(int x) { return x + x; }
int negate(int x) { return -x; }

/* Pointers in const data: must land in RELRO with ABS64 relocations. */
static int (*const ops[])(int) = { square, twice, negate, counter_add };
const char *const names[] = { "square", "twice", "negate", "counter_add" };

static const char greeting[] = "hello from a module";
int global_data = 5;
static int static_data[4] = { 1, 2, 3, 4 };
static int zeroed[64];
int common_sym __attribute__((common));
int *data_ptr = &global_data;
int init_order[8];
int init_count;

__attribute__((constructor(101))) static void ctor_first(void)
{
	init_order[init_count++] = 1;
}

__attribute__((constructor)) static void ctor_plain(void)
{
	init_order[init_count++] = 3;
}

__attribute__((constructor(202))) static void ctor_second(void)
{
	init_order[init_count++] = 2;
}

__attribute__((destructor)) static void dtor(void)
{
	global_data = -1;
}

__attribute__((noinline)) int dispatch(int op, int x)
{
	switch (op) {
	case 0: return x + 11;
	case 1: return x * 7;
	case 2: return x - 13;
	case 3: return x ^ 0x55;
	case 4: return x << 2;
	case 5: return x >> 1;
	case 6: return x % 9;
	case 7: return ~x;
	default: return 0;
	}
}

int apply(unsigned op, int x)
{
	if (op >= sizeof(ops) / sizeof(ops[0]))
		return 0;
	return ops[op](x);
}

int check(const struct myriad_ctx *ctx)
{
	(void)ctx;
	int sum = 0;
	for (int i = 0; i < 8; i++)
		sum += dispatch(i, 100);
	for (unsigned i = 0; i < 4; i++)
		sum += apply(i, static_data[i]);
	sum += greeting[0] + names[1][0] + zeroed[3] + common_sym + *data_ptr;
	sum += counter_value + counter_total();
	return sum + init_order[0] * 100 + init_order[1] * 10 + init_order[2];
}
