/*
 * The platform's device table, looked up by kind and name for the
 * front-ends (blk.c, netdev.c).
 */
#include "rt_internal.h"

const struct shoal_device *rt__device_find(uint32_t kind, const char *name, unsigned *index)
{
	const struct shoal_device *d;
	unsigned n, i;

	d = plat_devices(&n);
	for (i = 0; i < n; i++)
		if (d[i].kind == kind && !strncmp(d[i].name, name, sizeof(d[i].name)) &&
		    d[i].name[sizeof(d[i].name) - 1] == '\0') {
			*index = i;
			return &d[i];
		}
	return NULL;
}

unsigned rt__device_count(uint32_t kind)
{
	const struct shoal_device *d;
	unsigned n, i, c = 0;

	d = plat_devices(&n);
	for (i = 0; i < n; i++)
		c += d[i].kind == kind;
	return c;
}

const char *rt__device_name(uint32_t kind, unsigned i)
{
	const struct shoal_device *d;
	unsigned n, j;

	d = plat_devices(&n);
	for (j = 0; j < n; j++)
		if (d[j].kind == kind && i-- == 0)
			return d[j].name;
	return NULL;
}
