# tests/: unit tests (cmocka, TAP output), integration tests on /dev/kvm.
# Components with pure libraries (metrics/, scheduler/) list their own unit
# tests in their local.mk, the same way.

UNIT_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir) $(CMOCKA_CFLAGS)

check_PROGRAMS += tests/unit/test_vmm_elf
TESTS += tests/unit/test_vmm_elf
tests_unit_test_vmm_elf_SOURCES = tests/unit/test_vmm_elf.c
tests_unit_test_vmm_elf_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_vmm_elf_LDADD = daemon/vmm/libvmm.a $(CMOCKA_LIBS)
