# unikernel-rt: the guest runtime (freestanding) and the example guests.

RT_GUEST_CPP = -I$(top_srcdir)/unikernel-rt/include
RT_GUEST_CC = $(GUEST_CFLAGS) $(WARN_CFLAGS) -O2 \
	-ffile-prefix-map=$(abs_top_srcdir)/= -ffile-prefix-map=$(top_srcdir)/=

# The core every platform's runtime is built from.
RT_CORE_SOURCES = \
	unikernel-rt/include/shoal/abi.h \
	unikernel-rt/include/shoal/rt.h \
	unikernel-rt/include/shoal/fat.h \
	unikernel-rt/core/rt_internal.h \
	unikernel-rt/core/main.c \
	unikernel-rt/core/console.c \
	unikernel-rt/core/evtchn.c \
	unikernel-rt/core/heap.c \
	unikernel-rt/core/string.c \
	unikernel-rt/core/blk.c \
	unikernel-rt/include/shoal/blk.h \
	unikernel-rt/core/fat.c

noinst_LIBRARIES += unikernel-rt/libshoalrt-kvm.a
unikernel_rt_libshoalrt_kvm_a_CPPFLAGS = $(RT_GUEST_CPP)
unikernel_rt_libshoalrt_kvm_a_CFLAGS = $(RT_GUEST_CC)
unikernel_rt_libshoalrt_kvm_a_CCASFLAGS = $(RT_GUEST_CPP)
unikernel_rt_libshoalrt_kvm_a_SOURCES = $(RT_CORE_SOURCES) \
	unikernel-rt/platform/kvm/entry.S \
	unikernel-rt/platform/kvm/kvm.c

# Each platform's linker script is preprocessed so that it can use the
# ABI's numbers; made by a pattern rule, so kept from make's clean-up of
# intermediate files (.SECONDARY).
RT_LINKER_FILES = unikernel-rt/platform/kvm/link.ld unikernel-rt/platform/xen-pv/link.ld \
	unikernel-rt/platform/xen-pvh/link.ld
.SECONDARY: $(RT_LINKER_FILES)
CLEANFILES += $(RT_LINKER_FILES)
unikernel-rt/platform/%/link.ld: $(top_srcdir)/unikernel-rt/platform/%/link.ld.S \
		$(top_srcdir)/unikernel-rt/include/shoal/abi.h
	$(AM_V_GEN)$(MKDIR_P) $(@D) && \
	$(CPP) -P -undef -x c -D__ASSEMBLER__ -I$(top_srcdir)/unikernel-rt/include \
		$< > $@.tmp && mv $@.tmp $@
EXTRA_DIST += unikernel-rt/platform/kvm/link.ld.S

RT_KVM_LINK = $(GUEST_LDFLAGS) -Wl,-T,unikernel-rt/platform/kvm/link.ld
RT_KVM_DEPS = unikernel-rt/libshoalrt-kvm.a unikernel-rt/platform/kvm/link.ld

# Xen: the same core, the shared Xen layer (platform/xen/) and one entry
# per guest type.
RT_XEN_SOURCES = \
	unikernel-rt/platform/xen/xen_abi.h \
	unikernel-rt/platform/xen/xen.h \
	unikernel-rt/platform/xen/notes.h \
	unikernel-rt/platform/xen/xen.c

noinst_LIBRARIES += unikernel-rt/libshoalrt-xen-pv.a
unikernel_rt_libshoalrt_xen_pv_a_CPPFLAGS = $(RT_GUEST_CPP)
unikernel_rt_libshoalrt_xen_pv_a_CFLAGS = $(RT_GUEST_CC)
unikernel_rt_libshoalrt_xen_pv_a_CCASFLAGS = $(RT_GUEST_CPP)
unikernel_rt_libshoalrt_xen_pv_a_SOURCES = $(RT_CORE_SOURCES) $(RT_XEN_SOURCES) \
	unikernel-rt/platform/xen-pv/entry.S \
	unikernel-rt/platform/xen-pv/pv.c
EXTRA_DIST += unikernel-rt/platform/xen-pv/link.ld.S

noinst_LIBRARIES += unikernel-rt/libshoalrt-xen-pvh.a
unikernel_rt_libshoalrt_xen_pvh_a_CPPFLAGS = $(RT_GUEST_CPP)
unikernel_rt_libshoalrt_xen_pvh_a_CFLAGS = $(RT_GUEST_CC)
unikernel_rt_libshoalrt_xen_pvh_a_CCASFLAGS = $(RT_GUEST_CPP)
unikernel_rt_libshoalrt_xen_pvh_a_SOURCES = $(RT_CORE_SOURCES) $(RT_XEN_SOURCES) \
	unikernel-rt/platform/xen-pvh/entry.S \
	unikernel-rt/platform/xen-pvh/pvh.c
EXTRA_DIST += unikernel-rt/platform/xen-pvh/link.ld.S


# Example guests: one source each, linked once per platform by pattern
# rules (name.kvm), so adding a guest or a platform is one line.
GUEST_EXAMPLES = hello idle spin hang badcall crash rtcheck flood blkcheck badring fatcat
KVM_GUESTS = $(GUEST_EXAMPLES:%=unikernel-rt/examples/%.kvm)
guest_DATA += $(KVM_GUESTS)
EXTRA_DIST += $(GUEST_EXAMPLES:%=unikernel-rt/examples/%.c)
CLEANFILES += $(KVM_GUESTS) $(KVM_GUESTS:%=%.o) $(KVM_GUESTS:%=%.d)

unikernel-rt/examples/%.kvm.o: unikernel-rt/examples/%.c
	$(AM_V_CC)$(MKDIR_P) $(@D) && \
	$(CC) $(RT_GUEST_CPP) $(RT_GUEST_CC) $(CFLAGS) -MMD -MP -c -o $@ $<

unikernel-rt/examples/%.kvm: unikernel-rt/examples/%.kvm.o $(RT_KVM_DEPS)
	$(AM_V_CCLD)$(CC) $(RT_GUEST_CC) $(CFLAGS) $(RT_KVM_LINK) -o $@ $< \
		unikernel-rt/libshoalrt-kvm.a

-include $(KVM_GUESTS:%=%.d)

# The same guests for Xen: NAME.xen-pv and NAME.xen-pvh, installed beside
# NAME.kvm.
XEN_PV_GUESTS = $(GUEST_EXAMPLES:%=unikernel-rt/examples/%.xen-pv)
XEN_PVH_GUESTS = $(GUEST_EXAMPLES:%=unikernel-rt/examples/%.xen-pvh)
XEN_GUESTS = $(XEN_PV_GUESTS) $(XEN_PVH_GUESTS)
guest_DATA += $(XEN_GUESTS)
CLEANFILES += $(XEN_GUESTS) $(XEN_GUESTS:%=%.o) $(XEN_GUESTS:%=%.d)

# (Two rules: one pattern rule with two targets would mean one recipe makes both.)
unikernel-rt/examples/%.xen-pv.o: unikernel-rt/examples/%.c
	$(AM_V_CC)$(MKDIR_P) $(@D) && \
	$(CC) $(RT_GUEST_CPP) $(RT_GUEST_CC) $(CFLAGS) -MMD -MP -c -o $@ $<

unikernel-rt/examples/%.xen-pvh.o: unikernel-rt/examples/%.c
	$(AM_V_CC)$(MKDIR_P) $(@D) && \
	$(CC) $(RT_GUEST_CPP) $(RT_GUEST_CC) $(CFLAGS) -MMD -MP -c -o $@ $<

unikernel-rt/examples/%.xen-pv: unikernel-rt/examples/%.xen-pv.o unikernel-rt/libshoalrt-xen-pv.a \
		unikernel-rt/platform/xen-pv/link.ld
	$(AM_V_CCLD)$(CC) $(RT_GUEST_CC) $(CFLAGS) $(GUEST_LDFLAGS) \
		-Wl,-T,unikernel-rt/platform/xen-pv/link.ld -o $@ $< unikernel-rt/libshoalrt-xen-pv.a

unikernel-rt/examples/%.xen-pvh: unikernel-rt/examples/%.xen-pvh.o unikernel-rt/libshoalrt-xen-pvh.a \
		unikernel-rt/platform/xen-pvh/link.ld
	$(AM_V_CCLD)$(CC) $(RT_GUEST_CC) $(CFLAGS) $(GUEST_LDFLAGS) \
		-Wl,-T,unikernel-rt/platform/xen-pvh/link.ld -o $@ $< unikernel-rt/libshoalrt-xen-pvh.a

-include $(XEN_GUESTS:%=%.d)
