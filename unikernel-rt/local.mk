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
	unikernel-rt/core/devices.c \
	unikernel-rt/include/shoal/blk.h \
	unikernel-rt/core/blk_strerror.c \
	unikernel-rt/include/shoal/netdev.h \
	unikernel-rt/core/fat.c

# The device front-ends on Xen's shared rings: every platform but proc,
# whose devices are descriptors (platform/proc/blk.c, netdev.c).
RT_RING_SOURCES = \
	unikernel-rt/include/shoal/xen_ring.h \
	unikernel-rt/core/blk.c \
	unikernel-rt/core/netdev.c

noinst_LIBRARIES += unikernel-rt/libshoalrt-kvm.a
unikernel_rt_libshoalrt_kvm_a_CPPFLAGS = $(RT_GUEST_CPP)
unikernel_rt_libshoalrt_kvm_a_CFLAGS = $(RT_GUEST_CC)
unikernel_rt_libshoalrt_kvm_a_CCASFLAGS = $(RT_GUEST_CPP)
unikernel_rt_libshoalrt_kvm_a_SOURCES = $(RT_CORE_SOURCES) $(RT_RING_SOURCES) \
	unikernel-rt/platform/kvm/entry.S \
	unikernel-rt/platform/kvm/kvm.c

# Each platform's linker script is preprocessed so that it can use the
# ABI's numbers; made by a pattern rule, so kept from make's clean-up of
# intermediate files (.SECONDARY).
RT_LINKER_FILES = unikernel-rt/platform/kvm/link.ld unikernel-rt/platform/xen-pv/link.ld \
	unikernel-rt/platform/xen-pvh/link.ld unikernel-rt/platform/proc/link.ld
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
	unikernel-rt/platform/xen/xen.c \
	unikernel-rt/platform/xen/front_parse.h \
	unikernel-rt/platform/xen/front_parse.c \
	unikernel-rt/platform/xen/front.c

noinst_LIBRARIES += unikernel-rt/libshoalrt-xen-pv.a
unikernel_rt_libshoalrt_xen_pv_a_CPPFLAGS = $(RT_GUEST_CPP)
unikernel_rt_libshoalrt_xen_pv_a_CFLAGS = $(RT_GUEST_CC)
unikernel_rt_libshoalrt_xen_pv_a_CCASFLAGS = $(RT_GUEST_CPP)
unikernel_rt_libshoalrt_xen_pv_a_SOURCES = $(RT_CORE_SOURCES) $(RT_RING_SOURCES) $(RT_XEN_SOURCES) \
	unikernel-rt/platform/xen-pv/entry.S \
	unikernel-rt/platform/xen-pv/pv.c
EXTRA_DIST += unikernel-rt/platform/xen-pv/link.ld.S

noinst_LIBRARIES += unikernel-rt/libshoalrt-xen-pvh.a
unikernel_rt_libshoalrt_xen_pvh_a_CPPFLAGS = $(RT_GUEST_CPP)
unikernel_rt_libshoalrt_xen_pvh_a_CFLAGS = $(RT_GUEST_CC)
unikernel_rt_libshoalrt_xen_pvh_a_CCASFLAGS = $(RT_GUEST_CPP)
unikernel_rt_libshoalrt_xen_pvh_a_SOURCES = $(RT_CORE_SOURCES) $(RT_RING_SOURCES) $(RT_XEN_SOURCES) \
	unikernel-rt/platform/xen-pvh/entry.S \
	unikernel-rt/platform/xen-pvh/pvh.c
EXTRA_DIST += unikernel-rt/platform/xen-pvh/link.ld.S

# proc: the same core as a sandboxed host process (shoal-proc); its
# devices are the descriptors themselves, not rings.
noinst_LIBRARIES += unikernel-rt/libshoalrt-proc.a
unikernel_rt_libshoalrt_proc_a_CPPFLAGS = $(RT_GUEST_CPP)
unikernel_rt_libshoalrt_proc_a_CFLAGS = $(RT_GUEST_CC)
unikernel_rt_libshoalrt_proc_a_CCASFLAGS = $(RT_GUEST_CPP)
unikernel_rt_libshoalrt_proc_a_SOURCES = $(RT_CORE_SOURCES) \
	unikernel-rt/platform/proc/sys.h \
	unikernel-rt/platform/proc/proc.h \
	unikernel-rt/platform/proc/proc.c \
	unikernel-rt/platform/proc/blk.c \
	unikernel-rt/platform/proc/netdev.c
EXTRA_DIST += unikernel-rt/platform/proc/link.ld.S

# Example guests: one source each, linked once per platform by pattern
# rules (name.kvm), so adding a guest or a platform is one line.
GUEST_EXAMPLES = hello idle spin hang badcall crash rtcheck flood blkcheck badring badnet fatcat busy storm
KVM_GUESTS = $(GUEST_EXAMPLES:%=unikernel-rt/examples/%.kvm)
guest_DATA += $(KVM_GUESTS)
EXTRA_DIST += $(GUEST_EXAMPLES:%=unikernel-rt/examples/%.c)
EXTRA_DIST += unikernel-rt/examples/rawdev.h unikernel-rt/examples/hostile.h
CLEANFILES += $(KVM_GUESTS) $(KVM_GUESTS:%=%.o) $(KVM_GUESTS:%=%.d)

# A guest that needs more than the runtime (lwIP, say) names those
# libraries as prerequisites of its images: every archive among them is
# linked, in a group, so their order does not matter.  Its object may be
# given other preprocessor flags (EXAMPLE_CPP) the same way.
EXAMPLE_CPP = $(RT_GUEST_CPP)
GUEST_ARCHIVES = -Wl,--start-group $(filter %.a,$^) -Wl,--end-group

unikernel-rt/examples/%.kvm.o: unikernel-rt/examples/%.c
	$(AM_V_CC)$(MKDIR_P) $(@D) && \
	$(CC) $(EXAMPLE_CPP) $(RT_GUEST_CC) $(CFLAGS) -MMD -MP -c -o $@ $<

unikernel-rt/examples/%.kvm: unikernel-rt/examples/%.kvm.o $(RT_KVM_DEPS)
	$(AM_V_CCLD)$(CC) $(RT_GUEST_CC) $(CFLAGS) $(RT_KVM_LINK) -o $@ $< $(GUEST_ARCHIVES)

-include $(KVM_GUESTS:%=%.d)

# The same guests for Xen: NAME.xen-pv and NAME.xen-pvh, installed beside
# NAME.kvm.  badfront is Xen's alone (a hostile front-end for Dom0's
# back-ends: it reaches under the runtime to the Xen platform's calls).
XEN_ONLY_EXAMPLES = badfront
EXTRA_DIST += $(XEN_ONLY_EXAMPLES:%=unikernel-rt/examples/%.c)
XEN_PV_GUESTS = $(GUEST_EXAMPLES:%=unikernel-rt/examples/%.xen-pv) \
	$(XEN_ONLY_EXAMPLES:%=unikernel-rt/examples/%.xen-pv)
XEN_PVH_GUESTS = $(GUEST_EXAMPLES:%=unikernel-rt/examples/%.xen-pvh) \
	$(XEN_ONLY_EXAMPLES:%=unikernel-rt/examples/%.xen-pvh)
XEN_GUESTS = $(XEN_PV_GUESTS) $(XEN_PVH_GUESTS)
guest_DATA += $(XEN_GUESTS)
CLEANFILES += $(XEN_GUESTS) $(XEN_GUESTS:%=%.o) $(XEN_GUESTS:%=%.d)

# (Two rules: one pattern rule with two targets would mean one recipe makes both.)
unikernel-rt/examples/%.xen-pv.o: unikernel-rt/examples/%.c
	$(AM_V_CC)$(MKDIR_P) $(@D) && \
	$(CC) $(EXAMPLE_CPP) $(RT_GUEST_CC) $(CFLAGS) -MMD -MP -c -o $@ $<

unikernel-rt/examples/%.xen-pvh.o: unikernel-rt/examples/%.c
	$(AM_V_CC)$(MKDIR_P) $(@D) && \
	$(CC) $(EXAMPLE_CPP) $(RT_GUEST_CC) $(CFLAGS) -MMD -MP -c -o $@ $<

unikernel-rt/examples/%.xen-pv: unikernel-rt/examples/%.xen-pv.o unikernel-rt/libshoalrt-xen-pv.a \
		unikernel-rt/platform/xen-pv/link.ld
	$(AM_V_CCLD)$(CC) $(RT_GUEST_CC) $(CFLAGS) $(GUEST_LDFLAGS) \
		-Wl,-T,unikernel-rt/platform/xen-pv/link.ld -o $@ $< $(GUEST_ARCHIVES)

unikernel-rt/examples/%.xen-pvh: unikernel-rt/examples/%.xen-pvh.o unikernel-rt/libshoalrt-xen-pvh.a \
		unikernel-rt/platform/xen-pvh/link.ld
	$(AM_V_CCLD)$(CC) $(RT_GUEST_CC) $(CFLAGS) $(GUEST_LDFLAGS) \
		-Wl,-T,unikernel-rt/platform/xen-pvh/link.ld -o $@ $< $(GUEST_ARCHIVES)

-include $(XEN_GUESTS:%=%.d)

# And as processes: NAME.proc.  badcall speaks each platform's call ABI
# directly, so the proc one has a source of its own; escape is proc's
# alone (a guest that tries to reach the host around the runtime).
PROC_ONLY_EXAMPLES = escape
PROC_GUESTS = $(GUEST_EXAMPLES:%=unikernel-rt/examples/%.proc) \
	$(PROC_ONLY_EXAMPLES:%=unikernel-rt/examples/%.proc)
guest_DATA += $(PROC_GUESTS)
EXTRA_DIST += unikernel-rt/examples/proc/badcall.c \
	$(PROC_ONLY_EXAMPLES:%=unikernel-rt/examples/proc/%.c)
CLEANFILES += $(PROC_GUESTS) $(PROC_GUESTS:%=%.o) $(PROC_GUESTS:%=%.d)

unikernel-rt/examples/%.proc.o: unikernel-rt/examples/%.c
	$(AM_V_CC)$(MKDIR_P) $(@D) && \
	$(CC) $(EXAMPLE_CPP) $(RT_GUEST_CC) $(CFLAGS) -MMD -MP -c -o $@ $<

unikernel-rt/examples/%.proc.o: unikernel-rt/examples/proc/%.c
	$(AM_V_CC)$(MKDIR_P) $(@D) && \
	$(CC) $(EXAMPLE_CPP) $(RT_GUEST_CC) $(CFLAGS) -MMD -MP -c -o $@ $<

# (badcall has sources in both places: the first pattern would take the KVM one.)
unikernel-rt/examples/badcall.proc.o: unikernel-rt/examples/proc/badcall.c
	$(AM_V_CC)$(MKDIR_P) $(@D) && \
	$(CC) $(EXAMPLE_CPP) $(RT_GUEST_CC) $(CFLAGS) -MMD -MP -c -o $@ $<

unikernel-rt/examples/%.proc: unikernel-rt/examples/%.proc.o unikernel-rt/libshoalrt-proc.a \
		unikernel-rt/platform/proc/link.ld
	$(AM_V_CCLD)$(CC) $(RT_GUEST_CC) $(CFLAGS) $(GUEST_LDFLAGS) \
		-Wl,-T,unikernel-rt/platform/proc/link.ld -o $@ $< $(GUEST_ARCHIVES)

-include $(PROC_GUESTS:%=%.d)


# ---- lwIP: the guests' TCP/IP stack ----
# lwIP is Debian's lwip source package, unpacked in the build tree by
# scripts/lwip.sh (configure's --with-lwip names it: LWIP_DIR); none of it
# is in the source tree or the tarball.  Its core is built here, once per
# platform like the runtime, into liblwip-PLATFORM.a; the runtime's glue
# (lwip/: lwIP's options, its port, sys_now, rt_net_poll, lo) is the
# project's own code, in libshoalnet-PLATFORM.a.  Without lwIP neither is
# built, nor are the guests that use them.
#
# Whatever includes lwIP's headers sees only the compiler's own headers
# (stddef.h, stdint.h) and the runtime's (lwip/libc: string.h, stdlib.h),
# never the host's C library.  lwIP's headers are system headers to the
# project's code, whose warnings stay errors.  lwIP's own files get the
# project's warnings too (2.1.3 gives none with GCC 12) but never -Werror:
# a new compiler's new warning in code the project does not own shows, and
# does not stop the build.
NET_GUEST_INC = -nostdinc -isystem $(GUEST_CC_INCLUDE) \
	-I$(top_srcdir)/unikernel-rt/lwip/libc -I$(top_srcdir)/unikernel-rt/lwip $(RT_GUEST_CPP)
NET_GUEST_CPP = $(NET_GUEST_INC) -isystem $(LWIP_DIR)/src/include
LWIP_GUEST_CPP = $(NET_GUEST_INC) -I$(LWIP_DIR)/src/include
LWIP_GUEST_CC = $(GUEST_CFLAGS) $(filter-out -Werror,$(WARN_CFLAGS)) -O2 \
	-ffile-prefix-map=$(LWIP_DIR)/=lwip/ -ffile-prefix-map=$(abs_top_srcdir)/= \
	-ffile-prefix-map=$(top_srcdir)/=

# IPv4, TCP, UDP, ICMP, ARP over Ethernet, the loopback path (in netif.c).
LWIP_CORE = core/init.c core/def.c core/inet_chksum.c core/ip.c core/mem.c core/memp.c \
	core/netif.c core/pbuf.c core/tcp.c core/tcp_in.c core/tcp_out.c core/timeouts.c \
	core/udp.c core/ipv4/etharp.c core/ipv4/icmp.c core/ipv4/ip4.c core/ipv4/ip4_addr.c \
	core/ipv4/ip4_frag.c netif/ethernet.c
LWIP_KVM_OBJS = $(LWIP_CORE:%.c=unikernel-rt/lwip-kvm/%.o)
LWIP_XEN_PV_OBJS = $(LWIP_CORE:%.c=unikernel-rt/lwip-xen-pv/%.o)
LWIP_XEN_PVH_OBJS = $(LWIP_CORE:%.c=unikernel-rt/lwip-xen-pvh/%.o)
LWIP_PROC_OBJS = $(LWIP_CORE:%.c=unikernel-rt/lwip-proc/%.o)
LWIP_OBJS = $(LWIP_KVM_OBJS) $(LWIP_XEN_PV_OBJS) $(LWIP_XEN_PVH_OBJS) $(LWIP_PROC_OBJS)
LWIP_LIBS = unikernel-rt/liblwip-kvm.a unikernel-rt/liblwip-xen-pv.a unikernel-rt/liblwip-xen-pvh.a \
	unikernel-rt/liblwip-proc.a
CLEANFILES += $(LWIP_LIBS) $(LWIP_OBJS) $(LWIP_OBJS:.o=.d)

LWIP_AR = $(AM_V_AR)rm -f $@ && $(AR) $(ARFLAGS) $@ $^ && $(RANLIB) $@
LWIP_COMPILE = $(AM_V_CC)$(MKDIR_P) $(@D) && \
	$(CC) $(LWIP_GUEST_CPP) $(LWIP_GUEST_CC) $(CFLAGS) -MMD -MP -c -o $@ $<

unikernel-rt/liblwip-kvm.a: $(LWIP_KVM_OBJS)
	$(LWIP_AR)
unikernel-rt/liblwip-xen-pv.a: $(LWIP_XEN_PV_OBJS)
	$(LWIP_AR)
unikernel-rt/liblwip-xen-pvh.a: $(LWIP_XEN_PVH_OBJS)
	$(LWIP_AR)
unikernel-rt/liblwip-proc.a: $(LWIP_PROC_OBJS)
	$(LWIP_AR)
unikernel-rt/lwip-kvm/%.o: $(LWIP_DIR)/src/%.c
	$(LWIP_COMPILE)
unikernel-rt/lwip-xen-pv/%.o: $(LWIP_DIR)/src/%.c
	$(LWIP_COMPILE)
unikernel-rt/lwip-xen-pvh/%.o: $(LWIP_DIR)/src/%.c
	$(LWIP_COMPILE)
unikernel-rt/lwip-proc/%.o: $(LWIP_DIR)/src/%.c
	$(LWIP_COMPILE)
-include $(LWIP_OBJS:.o=.d)

# The glue, once per platform.
NET_GLUE_SOURCES = \
	unikernel-rt/include/shoal/net.h \
	unikernel-rt/lwip/lwipopts.h \
	unikernel-rt/lwip/arch/cc.h \
	unikernel-rt/lwip/lwip_hooks.h \
	unikernel-rt/lwip/libc/string.h \
	unikernel-rt/lwip/libc/stdlib.h \
	unikernel-rt/lwip/net_internal.h \
	unikernel-rt/lwip/net.c \
	unikernel-rt/lwip/loopif.c \
	unikernel-rt/lwip/devif.c \
	unikernel-rt/lwip/chksum.c
if HAVE_LWIP
noinst_LIBRARIES += unikernel-rt/libshoalnet-kvm.a unikernel-rt/libshoalnet-xen-pv.a \
	unikernel-rt/libshoalnet-xen-pvh.a unikernel-rt/libshoalnet-proc.a
all-local: $(LWIP_LIBS)
endif
unikernel_rt_libshoalnet_kvm_a_CPPFLAGS = $(NET_GUEST_CPP)
unikernel_rt_libshoalnet_kvm_a_CFLAGS = $(RT_GUEST_CC)
unikernel_rt_libshoalnet_kvm_a_SOURCES = $(NET_GLUE_SOURCES)
unikernel_rt_libshoalnet_xen_pv_a_CPPFLAGS = $(NET_GUEST_CPP)
unikernel_rt_libshoalnet_xen_pv_a_CFLAGS = $(RT_GUEST_CC)
unikernel_rt_libshoalnet_xen_pv_a_SOURCES = $(NET_GLUE_SOURCES)
unikernel_rt_libshoalnet_xen_pvh_a_CPPFLAGS = $(NET_GUEST_CPP)
unikernel_rt_libshoalnet_xen_pvh_a_CFLAGS = $(RT_GUEST_CC)
unikernel_rt_libshoalnet_xen_pvh_a_SOURCES = $(NET_GLUE_SOURCES)
unikernel_rt_libshoalnet_proc_a_CPPFLAGS = $(NET_GUEST_CPP)
unikernel_rt_libshoalnet_proc_a_CFLAGS = $(RT_GUEST_CC)
unikernel_rt_libshoalnet_proc_a_SOURCES = $(NET_GLUE_SOURCES)

# Guests on lwIP: their objects see lwIP's headers, their images link it.
NET_EXAMPLES = tcploop echo site
EXTRA_DIST += $(NET_EXAMPLES:%=unikernel-rt/examples/%.c)
NET_KVM_GUESTS = $(NET_EXAMPLES:%=unikernel-rt/examples/%.kvm)
NET_XEN_PV_GUESTS = $(NET_EXAMPLES:%=unikernel-rt/examples/%.xen-pv)
NET_XEN_PVH_GUESTS = $(NET_EXAMPLES:%=unikernel-rt/examples/%.xen-pvh)
NET_PROC_GUESTS = $(NET_EXAMPLES:%=unikernel-rt/examples/%.proc)
NET_GUESTS = $(NET_KVM_GUESTS) $(NET_XEN_PV_GUESTS) $(NET_XEN_PVH_GUESTS) $(NET_PROC_GUESTS)
if HAVE_LWIP
guest_DATA += $(NET_GUESTS)
endif
CLEANFILES += $(NET_GUESTS) $(NET_GUESTS:%=%.o) $(NET_GUESTS:%=%.d)
$(NET_GUESTS:%=%.o): EXAMPLE_CPP = $(NET_GUEST_CPP)
$(NET_KVM_GUESTS): unikernel-rt/libshoalnet-kvm.a unikernel-rt/liblwip-kvm.a
$(NET_XEN_PV_GUESTS): unikernel-rt/libshoalnet-xen-pv.a unikernel-rt/liblwip-xen-pv.a
$(NET_XEN_PVH_GUESTS): unikernel-rt/libshoalnet-xen-pvh.a unikernel-rt/liblwip-xen-pvh.a
$(NET_PROC_GUESTS): unikernel-rt/libshoalnet-proc.a unikernel-rt/liblwip-proc.a
-include $(NET_GUESTS:%=%.d)
