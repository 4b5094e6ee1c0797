/* SPDX-License-Identifier: MIT */
/*
 * lib/load/verify.c - stage 2: every file module's checksum, unless the
 * fetch lane that read it already compared it (m->pre).
 *
 * May assume: resolve succeeded (S_RESOLVED): l->order lists every file
 * module, each parsed, its view valid.  Reads module files only.
 */
#include <errno.h>
#include "load/loader_internal.h"

int myr_loader_verify(struct myr_loader *l)
{
	uint64_t t0 = now_ns(l);
	char chain[512];

	if (l->failed)
		return -ECANCELED;
	if (l->stage != S_RESOLVED)
		return -EINVAL;
	for (uint32_t k = 0; k < l->norder; k++) {
		const struct lmod *m = &l->mods[l->order[k]];
		if (m->pre == PRE_SUM_OK ||
		    (m->pre != PRE_SUM_BAD &&
		     myr_module_checksum(m->view.base, m->view.size) ==
		     m->view.hdr->checksum))
			continue;
		myri_format_chain(l, l->order[k], chain, sizeof(chain));
		if (m->dir < 0)
			report(l, -EILSEQ, "%s: checksum mismatch (the file is "
			       "corrupt)", l->program_path);
		else
			report(l, -EILSEQ, "%s: %s/%s.myr: checksum mismatch "
			       "(the file is corrupt)", chain, dir_name(l, m),
			       m->name);
	}
	l->stats.ns_verify += now_ns(l) - t0;
	if (l->failed)
		return l->failed;
	l->stage = S_VERIFIED;
	return 0;
}
