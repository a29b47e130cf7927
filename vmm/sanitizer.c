/*
 * shoal-vmm's own sanitizer settings, linked in by a --enable-sanitizers
 * build only (vmm/local.mk; shoal-proc is not instrumented, as it says).
 * The runtime reads them before the environment's ASAN_OPTIONS, which wins.
 */

const char *__asan_default_options(void);

/*
 * No leak check at exit: it stops the process's threads with ptrace,
 * which the tender's seccomp filter traps, so every tender would end by
 * SIGSYS.  A tender's memory goes with its process; shoald, which lives
 * on, is the one whose leaks count (tests/lsan.supp).
 */
/*
 * No signal stack of the sanitizer's own either: it sets one up and takes
 * it down with each thread, and a thread that ends after the filter
 * (sigaltstack is allowed only to ask) would end the tender by SIGSYS.
 */
const char *__asan_default_options(void)
{
	return "detect_leaks=0:use_sigaltstack=0";
}
