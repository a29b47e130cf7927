/*
 * flood: writes to its console as fast as it can, for tests of the
 * daemon's console rate limit.  flood [line_bytes]
 */
#include <shoal/rt.h>

int main(int argc, char **argv)
{
	static char line[4096];
	uint64_t n = 64;
	int ok = 1;

	if (argc > 1)
		n = rt_strtou64(argv[1], &ok);
	if (!ok || n < 2 || n > sizeof(line))
		n = 64;
	memset(line, 'x', n - 1);
	line[n - 1] = '\n';
	for (;;) {
		struct rt_iov iov[64];
		unsigned i;

		for (i = 0; i < 64; i++)
			iov[i] = (struct rt_iov){ line, n };
		rt_console_writev(iov, 64);
		rt_evtchn_dispatch();
	}
}
