/*
 * hello: prints its name and arguments on one line and exits 0.  The
 * boot benchmark's guest, so it formats nothing: it hands the argument
 * strings to the console as they are, in one hypercall.
 */
#include <shoal/rt.h>

int main(int argc, char **argv)
{
	struct rt_iov iov[64];
	unsigned n = 0;
	int i;

	iov[n++] = (struct rt_iov){ "hello from ", 11 };
	iov[n++] = (struct rt_iov){ argv[0], rt_arg_len(0) };
	iov[n++] = (struct rt_iov){ ":", 1 };
	for (i = 1; i < argc; i++) {
		if (n > 61) {
			rt_console_writev(iov, n);
			n = 0;
		}
		iov[n++] = (struct rt_iov){ " ", 1 };
		iov[n++] = (struct rt_iov){ argv[i], rt_arg_len(i) };
	}
	iov[n++] = (struct rt_iov){ "\n", 1 };
	rt_console_writev(iov, n);
	return 0;
}
