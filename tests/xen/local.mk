# Xen: real Xen 4.17 under QEMU with shoald on its Xen backend in Dom0
# (tests/xen/run.sh).  The smoke set and the libvirt set (each a boot of
# its own) are part of make check; the long set and the benchmarks run on
# demand.
TESTS += tests/xen/smoke.sh tests/xen/libvirt.sh
XEN_TEST_FILES = tests/xen/local.mk tests/xen/smoke.sh tests/xen/libvirt.sh tests/xen/run.sh tests/xen/deps.sh tests/xen/mkdom0.sh \
	tests/xen/dom0/init.sh tests/xen/dom0/lib.sh tests/xen/dom0/smoke.sh tests/xen/dom0/devices.sh tests/xen/dom0/fronts.sh tests/xen/dom0/long.sh \
	tests/xen/dom0/bench.sh tests/xen/dom0/scale.sh tests/xen/dom0/libvirt.sh bench/xen-create.sh bench/xen-scale.sh
EXTRA_DIST += $(XEN_TEST_FILES)

check-xen-long: all $(check_PROGRAMS)
	SHOAL_BUILD=$(abs_top_builddir) $(SHELL) $(top_srcdir)/tests/xen/run.sh long
bench-xen-create: all $(check_PROGRAMS)
	SHOAL_BUILD=$(abs_top_builddir) $(SHELL) $(top_srcdir)/bench/xen-create.sh
bench-xen-scale: all $(check_PROGRAMS)
	SHOAL_BUILD=$(abs_top_builddir) $(SHELL) $(top_srcdir)/bench/xen-scale.sh
.PHONY: check-xen-long bench-xen-create bench-xen-scale

# What the runs leave in the build tree: each set's logs and artefacts and
# the Dom0 initramfs (make clean); the unpacked Xen, Dom0 kernel and
# busybox too (make distclean: they take a download to make again).
clean-local: clean-xen
clean-xen:
	rm -rf tests/xen/smoke tests/xen/long tests/xen/bench tests/xen/scale tests/xen/libvirt tests/xen/base.cpio.gz tests/xen/shoal.cpio.gz \
		tests/xen/dom0.cpio.gz tests/xen/base.stamp tests/xen/shoal.inputs tests/xen/libvirt.cpio.gz tests/xen/libvirt.stamp
distclean-local: distclean-xen
distclean-xen:
	rm -rf tests/xen/cache
.PHONY: clean-xen distclean-xen
