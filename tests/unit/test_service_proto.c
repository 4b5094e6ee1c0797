/* SPDX-License-Identifier: MIT */
/*
 * The loader service's messages (lib/service/proto.c): a well-formed
 * request and answer of each type parse; each rejection class is refused
 * with its code and a one-line message; and the fuzz harness's contract
 * checks (tests/fuzz/fuzz_service.c) hold on every byte of each message
 * flipped and on every prefix.
 */
#define LLVMFuzzerTestOneInput fuzz_service_one
#define LLVMFuzzerInitialize fuzz_service_init
#include "../fuzz/fuzz_service.c"
#include "../fuzz/replay.h"
#include "harness.h"

static struct myr_service_request good_request(unsigned type)
{
	struct myr_service_request r = { .magic = MYR_SERVICE_REQ_MAGIC,
		.version = MYR_SERVICE_VERSION, .type = (uint16_t)type };
	return r;
}

/* A load answer with a closure of 3 entries, in a 4-aligned buffer. */
static size_t good_load_answer(uint32_t *buf)
{
	struct myr_service_answer_header h = { .magic = MYR_SERVICE_REP_MAGIC,
		.version = MYR_SERVICE_VERSION, .type = MYR_SERVICE_LOAD,
		.closure_count = 3, .generation = 7, .image_file_size = 8192,
		.program_checksum = 9 };
	memcpy(buf, &h, sizeof(h));
	buf[16] = 2;
	buf[17] = 0;
	buf[18] = 1;
	return sizeof(h) + 12;
}

TEST(request_accepted)
{
	struct myr_service_request r = good_request(MYR_SERVICE_LOAD), out;
	struct myr_error err = { 0 };

	ASSERT_EQ(myr_service_request_parse(&r, sizeof(r), 2, 0, &out, &err), 0);
	EXPECT_EQ(out.type, MYR_SERVICE_LOAD);
	r = good_request(MYR_SERVICE_STATUS);
	ASSERT_EQ(myr_service_request_parse(&r, sizeof(r), 0, 0, &out, &err), 0);
	EXPECT_EQ(out.type, MYR_SERVICE_STATUS);
}

TEST(request_refused)
{
	struct myr_service_request r, out;
	struct myr_error err = { 0 };
	uint8_t big[64] = { 0 };

	r = good_request(MYR_SERVICE_LOAD);
	EXPECT_EQ(myr_service_request_parse(&r, sizeof(r), 2, 1, &out, &err), -EBADMSG);
	EXPECT_NE(strstr(err.msg, "truncated"), NULL);
	EXPECT_EQ(myr_service_request_parse(&r, 31, 2, 0, &out, &err), -EBADMSG);
	EXPECT_EQ(myr_service_request_parse(big, sizeof(big), 2, 0, &out, &err), -EBADMSG);
	EXPECT_EQ(myr_service_request_parse(&r, sizeof(r), 1, 0, &out, &err), -EBADMSG);
	EXPECT_NE(strstr(err.msg, "2 descriptors"), NULL);
	EXPECT_EQ(myr_service_request_parse(&r, sizeof(r), 3, 0, &out, &err), -EBADMSG);
	r.magic ^= 0x100;
	EXPECT_EQ(myr_service_request_parse(&r, sizeof(r), 2, 0, &out, &err), -EBADMSG);
	EXPECT_NE(strstr(err.msg, "magic"), NULL);
	/* The previous version (closures without plan bits) and the next. */
	r = good_request(MYR_SERVICE_LOAD);
	r.version = MYR_SERVICE_VERSION - 1;
	EXPECT_EQ(myr_service_request_parse(&r, sizeof(r), 2, 0, &out, &err), -EPROTO);
	r.version = MYR_SERVICE_VERSION + 1;
	EXPECT_EQ(myr_service_request_parse(&r, sizeof(r), 2, 0, &out, &err), -EPROTO);
	r = good_request(MYR_SERVICE_LOAD);
	r.reserved[15] = 1;
	EXPECT_EQ(myr_service_request_parse(&r, sizeof(r), 2, 0, &out, &err), -EBADMSG);
	r = good_request(MYR_SERVICE_LOAD);
	r.flags = 1;
	EXPECT_EQ(myr_service_request_parse(&r, sizeof(r), 2, 0, &out, &err), -EBADMSG);
	r = good_request(MYR_SERVICE_STATUS);
	EXPECT_EQ(myr_service_request_parse(&r, sizeof(r), 1, 0, &out, &err), -EBADMSG);
	r = good_request(MYR_SERVICE_ERROR);
	EXPECT_EQ(myr_service_request_parse(&r, sizeof(r), 0, 0, &out, &err), -EBADMSG);
	EXPECT_NE(strstr(err.msg, "unknown request type"), NULL);
}

TEST(answers)
{
	static uint32_t buf[64];
	static struct myr_service_answer a;
	struct myr_service_answer_header *h = (void *)buf;
	struct myr_error err = { 0 };
	size_t n = good_load_answer(buf);

	ASSERT_EQ(myr_service_answer_parse(buf, n, 1, 0, MYR_SERVICE_LOAD, &a, &err), 0);
	EXPECT_EQ(a.hdr.closure_count, 3u);
	EXPECT_EQ(a.closure[0], 2u);
	EXPECT_EQ(a.closure[2], 1u);
	/* No memfd, two, a closure that does not fill the body, a status
	 * where a load was asked, truncation, an empty image. */
	EXPECT_EQ(myr_service_answer_parse(buf, n, 0, 0, MYR_SERVICE_LOAD, &a, &err), -EBADMSG);
	EXPECT_EQ(myr_service_answer_parse(buf, n, 2, 0, MYR_SERVICE_LOAD, &a, &err), -EBADMSG);
	EXPECT_EQ(myr_service_answer_parse(buf, n - 4, 1, 0, MYR_SERVICE_LOAD, &a, &err), -EBADMSG);
	EXPECT_EQ(myr_service_answer_parse(buf, n, 1, 0, MYR_SERVICE_STATUS, &a, &err), -EBADMSG);
	EXPECT_EQ(myr_service_answer_parse(buf, n, 1, 1, MYR_SERVICE_LOAD, &a, &err), -EBADMSG);
	h->closure_count = MYR_SERVICE_CLOSURE_MAX + 1;
	EXPECT_EQ(myr_service_answer_parse(buf, n, 1, 0, MYR_SERVICE_LOAD, &a, &err), -EBADMSG);
	good_load_answer(buf);
	h->image_file_size = 0;
	EXPECT_EQ(myr_service_answer_parse(buf, n, 1, 0, MYR_SERVICE_LOAD, &a, &err), -EBADMSG);
	/* The program vouched for: its index with the flag, only so. */
	good_load_answer(buf);
	h->flags = MYR_SERVICE_A_PROGRAM;
	h->program_index = 7;
	ASSERT_EQ(myr_service_answer_parse(buf, n, 1, 0, MYR_SERVICE_LOAD, &a, &err), 0);
	EXPECT_EQ(a.hdr.flags, MYR_SERVICE_A_PROGRAM);
	EXPECT_EQ(a.hdr.program_index, 7u);
	h->program_index = MYR_CACHE_MODULES_MAX;
	EXPECT_EQ(myr_service_answer_parse(buf, n, 1, 0, MYR_SERVICE_LOAD, &a, &err), -EBADMSG);
	EXPECT_NE(strstr(err.msg, "out of range"), NULL);
	h->flags = 0;
	h->program_index = 7;
	EXPECT_EQ(myr_service_answer_parse(buf, n, 1, 0, MYR_SERVICE_LOAD, &a, &err), -EBADMSG);
	h->flags = MYR_SERVICE_A_COPY << 1;
	h->program_index = 0;
	EXPECT_EQ(myr_service_answer_parse(buf, n, 1, 0, MYR_SERVICE_LOAD, &a, &err), -EBADMSG);
	EXPECT_NE(strstr(err.msg, "unknown flags"), NULL);
	/* A copy of the program: a second descriptor, and never with a
	 * program vouched for. */
	good_load_answer(buf);
	h->flags = MYR_SERVICE_A_COPY;
	ASSERT_EQ(myr_service_answer_parse(buf, n, 2, 0, MYR_SERVICE_LOAD, &a, &err), 0);
	EXPECT_EQ(myr_service_answer_parse(buf, n, 1, 0, MYR_SERVICE_LOAD, &a, &err), -EBADMSG);
	EXPECT_NE(strstr(err.msg, "carries 2 descriptors, not 1"), NULL);
	h->flags = MYR_SERVICE_A_COPY | MYR_SERVICE_A_PROGRAM;
	EXPECT_EQ(myr_service_answer_parse(buf, n, 2, 0, MYR_SERVICE_LOAD, &a, &err), -EBADMSG);
	h->flags = 0;
	EXPECT_EQ(myr_service_answer_parse(buf, n, 2, 0, MYR_SERVICE_LOAD, &a, &err), -EBADMSG);
	good_load_answer(buf);
	h->reserved[11] = 1;
	EXPECT_EQ(myr_service_answer_parse(buf, n, 1, 0, MYR_SERVICE_LOAD, &a, &err), -EBADMSG);
	/* A version 2 service's answer (no program vouched for) or a version
	 * 1 one (no plan bits) is another protocol:
	 * the client falls back, never reads its closure as a plan. */
	good_load_answer(buf);
	h->version = MYR_SERVICE_VERSION - 1;
	EXPECT_EQ(myr_service_answer_parse(buf, n, 1, 0, MYR_SERVICE_LOAD, &a, &err), -EPROTO);
	EXPECT_NE(strstr(err.msg, "protocol version"), NULL);

	/* An error answer: its text comes back printable. */
	memset(buf, 0, sizeof(buf));
	h->magic = MYR_SERVICE_REP_MAGIC;
	h->version = MYR_SERVICE_VERSION;
	h->type = MYR_SERVICE_ERROR;
	h->status = -EPERM;
	h->msg_len = 6;
	memcpy((char *)buf + sizeof(*h), "no\nway", 6);
	ASSERT_EQ(myr_service_answer_parse(buf, sizeof(*h) + 6, 0, 0, MYR_SERVICE_LOAD, &a, &err), 0);
	EXPECT_EQ(a.hdr.status, -EPERM);
	EXPECT_EQ(strcmp(a.msg, "no?way"), 0);
	h->status = 5;
	EXPECT_EQ(myr_service_answer_parse(buf, sizeof(*h) + 6, 0, 0, MYR_SERVICE_LOAD, &a, &err), -EBADMSG);
	/* A program flag on an error answer is garbage too. */
	h->status = -EPERM;
	h->flags = MYR_SERVICE_A_PROGRAM;
	EXPECT_EQ(myr_service_answer_parse(buf, sizeof(*h) + 6, 0, 0, MYR_SERVICE_LOAD, &a, &err), -EBADMSG);
}

/* The harness's contract on each message, every byte flipped and every
 * prefix, under every selector. */
TEST(harness_contract)
{
	static uint8_t in[1 + 512];
	static uint32_t ans[64];
	struct myr_service_request r = good_request(MYR_SERVICE_LOAD);
	struct { const void *p; size_t n; } msgs[2] = {
		{ &r, sizeof(r) }, { ans, 0 },
	};

	msgs[1].n = good_load_answer(ans);
	fuzz_service_init(NULL, NULL);
	for (unsigned m = 0; m < 2; m++) {
		for (unsigned sel = 0; sel < 32; sel++) {
			in[0] = (uint8_t)sel;
			memcpy(in + 1, msgs[m].p, msgs[m].n);
			for (size_t k = 0; k <= msgs[m].n; k++)
				fuzz_service_one(in, 1 + k);
			for (size_t k = 1; k <= msgs[m].n; k++) {
				in[k] ^= 0xff;
				fuzz_service_one(in, 1 + msgs[m].n);
				in[k] ^= 0xff;
			}
		}
	}
}

TEST(regressions)
{
	int n = replay_regress("service", fuzz_service_one);
	ASSERT_GE(n, 0);
	if (n == 0)
		SKIP(return, "no findings kept in tests/fuzz/regress/service");
}

TEST_HARNESS_MAIN
