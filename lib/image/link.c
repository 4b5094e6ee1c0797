/* SPDX-License-Identifier: MIT */
/*
 * Binding imports and applying relocations (two-level namespace).
 *
 * An import names the dependency that provides it, so binding is one export
 * table lookup in that dependency (usually a hit on the recorded export
 * index), never a search of the whole closure: linking costs O(imports +
 * relocations) whatever the number of modules.
 *
 * The reader validated every site and target offset already; the checks
 * here are repeated because they are cheap and because a write outside a
 * segment would corrupt a neighbour silently, whereas a wrong PC32 range is
 * only detectable once addresses are known.
 */
#include <errno.h>
#include <string.h>
#include "image/link.h"

uint32_t myri_link_bind(const struct myr_link_module *m,
		       const struct myr_link_module *const *deps,
		       const struct myr_host_binding *host, uintptr_t *addr,
		       void (*unresolved)(void *opaque, uint32_t import),
		       void *opaque)
{
	const struct myr_module_view *v = m->view;
	uint32_t n = v->hdr->imports.count, missing = 0;

	for (uint32_t i = 0; i < n; i++) {
		const struct myr_import *imp = &v->imports[i];
		const char *name = myr_view_str(v, imp->name_off);
		const struct myr_link_module *d = deps[imp->dep];
		void *a = NULL;

		if (!d) {
			if (host && host->find)
				a = host->find(host->opaque, name, imp->name_len);
		} else {
			int64_t e = myr_module_find_export(d->view, name,
							   imp->name_len,
							   imp->hash,
							   imp->export_hint);
			if (e >= 0) {
				const struct myr_export *x = &d->view->exports[e];
				a = d->seg[x->seg] + x->off;
			}
		}
		addr[i] = (uintptr_t)a;
		if (!a) {
			missing++;
			if (unresolved)
				unresolved(opaque, i);
		}
	}
	return missing;
}

static const char *const seg_names[MYR_SEG_COUNT] = {
	"text", "rodata", "relro", "data", "bss",
};

int64_t myri_link_relocate(const struct myr_link_module *m,
			  const uintptr_t *addr, struct myr_error *err)
{
	return myri_link_relocate_observed(m, addr, NULL, err);
}

int64_t myri_link_relocate_observed(const struct myr_link_module *m,
				   const uintptr_t *addr,
				   const struct myr_link_observer *obs,
				   struct myr_error *err)
{
	const struct myr_module_view *v = m->view;
	const struct myr_header *h = v->hdr;
	uint32_t n = h->relocs.count;

	for (uint32_t i = 0; i < n; i++) {
		const struct myr_reloc *r = &v->relocs[i];
		uint32_t width = r->type == MYR_REL_ABS64 ? 8 : 4;
		uintptr_t s;
		uint8_t *site;

		if (r->site_seg >= MYR_SEG_BSS ||
		    r->site_off > h->seg[r->site_seg].size ||
		    h->seg[r->site_seg].size - r->site_off < width)
			return myr_error_set(err, -EBADMSG, "relocation %u: "
					     "site outside its segment", i);
		site = m->seg[r->site_seg] + r->site_off;

		if (r->target_seg == MYR_TARGET_IMPORT) {
			if (r->target >= h->imports.count)
				return myr_error_set(err, -EBADMSG, "relocation "
						     "%u: import %u out of range",
						     i, r->target);
			s = addr[r->target];
		} else if (r->target_seg < MYR_SEG_COUNT &&
			   r->target <= h->seg[r->target_seg].size) {
			s = (uintptr_t)(m->seg[r->target_seg] + r->target);
		} else {
			return myr_error_set(err, -EBADMSG, "relocation %u: "
					     "target outside its segment", i);
		}

		switch (r->type) {
		case MYR_REL_PC32: {
			int64_t val = (int64_t)(s + (int64_t)r->addend -
						(uintptr_t)site);
			int32_t v32 = (int32_t)val;
			if (val != v32)
				return myr_error_set(err, -ERANGE, "relocation "
						     "%u: PC32 displacement %lld "
						     "in %s out of 32-bit range",
						     i, (long long)val,
						     seg_names[r->site_seg]);
			memcpy(site, &v32, sizeof(v32));
			break;
		}
		case MYR_REL_ABS64: {
			uint64_t val = (uint64_t)s + (uint64_t)(int64_t)r->addend;
			if (r->site_seg != MYR_SEG_RELRO &&
			    r->site_seg != MYR_SEG_DATA)
				return myr_error_set(err, -EBADMSG, "relocation "
						     "%u: ABS64 in %s", i,
						     seg_names[r->site_seg]);
			memcpy(site, &val, sizeof(val));
			break;
		}
		default:
			return myr_error_set(err, -EBADMSG, "relocation %u: "
					     "unknown type %u", i, r->type);
		}
		if (obs) {
			int e = obs->applied(obs->opaque, i, site);
			if (e < 0)
				return myr_error_set(err, e, "relocation %u: "
						     "cannot be recorded", i);
		}
	}
	return n;
}
