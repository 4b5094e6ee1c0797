/* A library module: exported functions and data, used by prog_*.c. */
int counter_value = 41;
static int hidden_total;

__attribute__((visibility("hidden"))) int counter_internal(int x)
{
	return x * 3;
}

int counter_add(int x)
{
	hidden_total += x;
	counter_value += counter_internal(x);
	return counter_value;
}

int counter_total(void)
{
	return hidden_total;
}

/* A weak default that a program may override. */
__attribute__((weak)) int counter_policy(void)
{
	return 7;
}
