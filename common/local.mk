# common/: contracts that several programs share, in a neutral place:
# how a guest ended (guest_exit.h), the image check for every platform
# (image.h), the KVM tender's control protocol (vmm_proto.h), spoken
# by the tender and by shoald's KVM backend, and the empty mount namespace
# proc tenders enter (mntns.h), a field of /proc/PID/status
# (proc_status.h).  Pure C with no daemon or tender headers.

noinst_LIBRARIES += common/libcommon.a
common_libcommon_a_SOURCES = \
	common/guest_exit.h common/guest_exit.c \
	common/image.h common/image_elf.c \
	common/vmm_proto.h common/vmm_proto.c \
	common/mntns.h common/mntns.c \
	common/fail.h common/fail.c \
	common/proc_status.h common/proc_status.c
