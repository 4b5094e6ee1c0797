/* SPDX-License-Identifier: MIT */
/*
 * fuzz_service: the loader service's message parsers (lib/service/proto.c),
 * both directions: the requests the service takes from any local user and
 * the answers the launcher takes from the service.
 *
 * Input: one selector byte, then the message.  Bits 0-1 of the selector
 * choose the parser (0, 3: request; 1: load answer; 2: status answer),
 * bits 2-3 the number of descriptors said to come with it, bit 4 the
 * kernel's truncation flag.
 */
#include <errno.h>
#include <myriad/service.h>
#include "fuzz_common.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

static void check_request(const uint8_t *p, size_t n, unsigned nfds, int trunc)
{
	struct myr_service_request req;
	struct myr_error err = { 0 };
	int r = myr_service_request_parse(p, n, nfds, trunc, &req, &err);

	if (r < 0) {
		FUZZ_REQUIRE(r == -EBADMSG || r == -EPROTO);
		FUZZ_REQUIRE(err.code == r);
		fuzz_check_line(err.msg);
		return;
	}
	/* What the service relies on once a request is accepted. */
	FUZZ_REQUIRE(!trunc && n == MYR_SERVICE_REQ_SIZE);
	FUZZ_REQUIRE(req.magic == MYR_SERVICE_REQ_MAGIC);
	FUZZ_REQUIRE(req.version == MYR_SERVICE_VERSION);
	FUZZ_REQUIRE((req.type == MYR_SERVICE_LOAD && nfds == 2) ||
		     (req.type == MYR_SERVICE_STATUS && nfds == 0));
}

static void check_answer(const uint8_t *p, size_t n, unsigned nfds, int trunc,
			 unsigned want)
{
	static struct myr_service_answer a;
	struct myr_error err = { 0 };
	int r = myr_service_answer_parse(p, n, nfds, trunc, want, &a, &err);
	volatile uint32_t sink = 0;

	if (r < 0) {
		FUZZ_REQUIRE(r == -EBADMSG || r == -EPROTO);
		fuzz_check_line(err.msg);
		return;
	}
	FUZZ_REQUIRE(!trunc);
	/* Another version's answer is never read: a version 1 closure has
	 * no plan bits, and would be misread as a plan. */
	FUZZ_REQUIRE(a.hdr.version == MYR_SERVICE_VERSION);
	if (a.hdr.type == MYR_SERVICE_ERROR) {
		FUZZ_REQUIRE(nfds == 0 && a.hdr.status < 0);
		/* Printable: the launcher shows it under MYRIAD_DEBUG. */
		for (size_t i = 0; a.msg[i]; i++)
			FUZZ_REQUIRE((unsigned char)a.msg[i] >= 0x20 &&
				     (unsigned char)a.msg[i] < 0x7f);
		return;
	}
	FUZZ_REQUIRE(a.hdr.type == want);
	/* A program index only with its flag, in range, on a load answer:
	 * the client indexes the image with it. */
	FUZZ_REQUIRE((a.hdr.flags & ~(MYR_SERVICE_A_PROGRAM |
				      MYR_SERVICE_A_COPY)) == 0);
	FUZZ_REQUIRE(!(a.hdr.flags & MYR_SERVICE_A_COPY) ||
		     (want == MYR_SERVICE_LOAD && nfds == 2 &&
		      !(a.hdr.flags & MYR_SERVICE_A_PROGRAM)));
	FUZZ_REQUIRE(a.hdr.flags & MYR_SERVICE_A_PROGRAM ?
		     want == MYR_SERVICE_LOAD &&
		     a.hdr.program_index < MYR_CACHE_MODULES_MAX :
		     a.hdr.program_index == 0);
	if (want == MYR_SERVICE_STATUS) {
		FUZZ_REQUIRE(a.status.generations <= MYR_SERVICE_GENS_MAX);
		for (uint32_t g = 0; g < a.status.generations; g++)
			sink += (uint32_t)a.status.gen[g].bytes;
		return;
	}
	FUZZ_REQUIRE(nfds == (a.hdr.flags & MYR_SERVICE_A_COPY ? 2u : 1u));
	FUZZ_REQUIRE(a.hdr.closure_count <= MYR_SERVICE_CLOSURE_MAX);
	/* The closure lies inside the message: read all of it. */
	for (uint32_t k = 0; k < a.hdr.closure_count; k++)
		sink += a.closure[k];
	(void)sink;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	unsigned sel = data[0];
	uint8_t *p = fuzz_copy(data + 1, size - 1);
	unsigned nfds = (sel >> 2) & 3;
	int trunc = (sel >> 4) & 1;

	switch (sel & 3) {
	case 1:
		check_answer(p, size - 1, nfds, trunc, MYR_SERVICE_LOAD);
		break;
	case 2:
		check_answer(p, size - 1, nfds, trunc, MYR_SERVICE_STATUS);
		break;
	default:
		check_request(p, size - 1, nfds, trunc);
		break;
	}
	free(p);
	return 0;
}
