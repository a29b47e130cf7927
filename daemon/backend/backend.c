/*
 * The compiled-in backends, in one static table; the daemon asks for one
 * by name.
 */
#include <string.h>

#include "config.h"

#include "daemon/backend/backend.h"

static const struct backend_ops *const backends[] = {
	&backend_kvm,     &backend_proc,
#ifdef HAVE_XEN
	&backend_xen,     &backend_xen_pvh,
#endif
#ifdef HAVE_LIBVIRT
	&backend_libvirt,
#endif
};

const struct backend_ops *backend_lookup(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(backends) / sizeof(backends[0]); i++)
		if (!strcmp(backends[i]->name, name))
			return backends[i];
	return NULL;
}

const char *backend_missing(const char *name)
{
#ifndef HAVE_LIBVIRT
	if (!strcmp(name, "libvirt"))
		return LIBVIRT_MISSING;
#endif
#ifndef HAVE_XEN
	if (!strcmp(name, "xen") || !strcmp(name, "xen-pvh"))
		return "configure found no libxl (Debian: libxen-dev)";
#endif
	(void)name;
	return NULL;
}

const char *backend_names(void)
{
	static char names[64];
	size_t i;

	if (!names[0])
		for (i = 0; i < sizeof(backends) / sizeof(backends[0]); i++) {
			if (i)
				strcat(names, ", ");
			strcat(names, backends[i]->name);
		}
	return names;
}
