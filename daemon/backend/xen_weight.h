/*
 * Xen's scheduler weight (credit and credit2: 1..65535, 256 the default)
 * against the cgroup v2 scale the daemon speaks (1..10000, 100 the
 * default), for every backend that sets a Xen domain's weight: the Xen
 * backend through libxl, the libvirt backend through libvirt's "weight"
 * scheduler parameter.
 */
#ifndef SHOALD_XEN_WEIGHT_H
#define SHOALD_XEN_WEIGHT_H

#define XEN_WEIGHT_DEFAULT 256u

/* cgroup v2 weight (out of range is clamped) to Xen's: 100 is 256, 1 is 3. */
static inline unsigned xen_weight_to_credit(unsigned weight)
{
	weight = weight < 1 ? 1 : weight > 10000 ? 10000 : weight;
	return (weight * XEN_WEIGHT_DEFAULT + 50) / 100;
}

/* Xen's weight back to cgroup's: xen_weight_from_credit(xen_weight_to_credit(w)) == w. */
static inline unsigned xen_weight_from_credit(unsigned xen_weight)
{
	unsigned long w =
	    ((unsigned long)xen_weight * 100 + XEN_WEIGHT_DEFAULT / 2) / XEN_WEIGHT_DEFAULT;

	return w < 1 ? 1 : w > 10000 ? 10000 : (unsigned)w;
}

#endif
