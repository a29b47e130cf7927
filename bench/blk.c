/*
 * bench/blk: a guest's disk reads beside the host's own.  The same file
 * (MIB MiB of random bytes, in the page cache for both) is read
 * sequentially in 64 KiB requests and at N random 4 KiB places, by the
 * blkcheck guest through its blkif ring and shoal-vmm's I/O thread, and
 * by pread(2) on the host.  Prints both and their ratio; never pass/fail.
 *
 * Where ring-0 guest code is emulated (kvm_pvm: 0.2-0.8 us an
 * instruction), the guest's side is bound by the emulation, not by the
 * ring or the tender: read its figure as guest work, and the ratio as
 * this machine's, not a VMX host's.
 *
 *   blk [--mib MIB] [--reads N] [--vmm PATH] [--guest PATH]
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/benchlib.h"

static int make_file(const char *path, unsigned mib)
{
	char buf[65536];
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600), rnd;
	unsigned i;

	rnd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || rnd < 0)
		return -1;
	for (i = 0; i < mib * 16; i++)
		if (read(rnd, buf, sizeof(buf)) != sizeof(buf) ||
		    write(fd, buf, sizeof(buf)) != sizeof(buf))
			return -1;
	close(rnd);
	close(fd);
	return 0;
}

/* The host: the same reads with pread; microseconds for each pass. */
static void host_reads(const char *path, unsigned n, double *seq_us, double *rand_us)
{
	static char buf[65536];
	uint64_t t0, x = 88172645463325252ull, sectors, off = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	unsigned i;

	sectors = (uint64_t)lseek(fd, 0, SEEK_END) / 512;
	t0 = bl_now_ns();
	while (pread(fd, buf, sizeof(buf), (off_t)off) == sizeof(buf))
		off += sizeof(buf);
	*seq_us = (double)(bl_now_ns() - t0) / 1e3;
	t0 = bl_now_ns();
	for (i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		if (pread(fd, buf, 4096, (off_t)((x % (sectors / 8)) * 4096)) != 4096)
			break;
	}
	*rand_us = (double)(bl_now_ns() - t0) / 1e3;
	close(fd);
}

/* The guest: run blkcheck bench and read its two figures. */
static int guest_reads(const char *vmm, const char *guest, const char *path, unsigned n,
                       double *seq_us, double *rand_us)
{
	char disk[4200], count[16], line[256];
	unsigned long long bytes, us, reads;
	int pfd[2], got = 0;
	pid_t pid;
	FILE *f;

	snprintf(disk, sizeof(disk), "d:%s:ro", path);
	snprintf(count, sizeof(count), "%u", n);
	if (pipe(pfd) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		dup2(pfd[1], 1);
		close(pfd[0]);
		execl(vmm, vmm, "--mem", "64", "--disk", disk, guest, "bench", "d", count,
		      (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	f = fdopen(pfd[0], "r");
	while (f && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "blkcheck: bench seq %llu bytes in %llu us", &bytes, &us) == 2) {
			*seq_us = (double)us;
			got++;
		} else if (sscanf(line, "blkcheck: bench rand %llu reads in %llu us", &reads,
		                  &us) == 2) {
			*rand_us = (double)us;
			got++;
		}
	}
	if (f)
		fclose(f);
	return bl_wait(pid) == 0 && got == 2 ? 0 : -1;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "mib", required_argument, NULL, 'm' },
		{ "reads", required_argument, NULL, 'n' },
		{ "vmm", required_argument, NULL, 'V' },
		{ "guest", required_argument, NULL, 'g' },
		{ NULL, 0, NULL, 0 },
	};
	const char *vmm = "vmm/shoal-vmm", *guest = "unikernel-rt/examples/blkcheck.kvm";
	unsigned mib = 16, n = 2000;
	double gseq, grand, hseq, hrand, mb;
	char path[] = "/tmp/shoal-bench-blk-XXXXXX";
	int c, fd;

	while ((c = getopt_long(argc, argv, "m:n:V:g:", longopts, NULL)) != -1) {
		switch (c) {
		case 'm':
			mib = (unsigned)atoi(optarg);
			break;
		case 'n':
			n = (unsigned)atoi(optarg);
			break;
		case 'V':
			vmm = optarg;
			break;
		case 'g':
			guest = optarg;
			break;
		default:
			fprintf(stderr,
			        "usage: %s [--mib MIB] [--reads N] [--vmm PATH] [--guest PATH]\n",
			        argv[0]);
			return 2;
		}
	}
	if (mib < 1 || mib > 1024 || n < 1) {
		fprintf(stderr, "blk: --mib 1..1024, --reads at least 1\n");
		return 2;
	}
	fd = mkstemp(path);
	if (fd < 0 || (close(fd), make_file(path, mib)) < 0) {
		fprintf(stderr, "blk: cannot make %s: %s\n", path, strerror(errno));
		return 1;
	}
	host_reads(path, n, &hseq, &hrand); /* also brings the file into the page cache */
	host_reads(path, n, &hseq, &hrand);
	if (guest_reads(vmm, guest, path, n, &gseq, &grand) < 0) {
		fprintf(stderr, "blk: the guest run failed (%s %s)\n", vmm, guest);
		unlink(path);
		return 1;
	}
	unlink(path);
	mb = (double)mib * 1048576.0;
	printf("bench/blk: a %u MiB disk, in the page cache; %u random reads\n", mib, n);
	printf("  sequential, 64 KiB requests   guest %8.1f MiB/s   host pread %8.1f MiB/s   ratio "
	       "%.1fx\n",
	       mb / gseq / 1.048576, mb / hseq / 1.048576, gseq / hseq);
	printf("  random 4 KiB reads            guest %8.1f us each host pread %8.2f us each ratio "
	       "%.1fx\n",
	       grand / n, hrand / n, grand / hrand);
	printf(
	    "  (ring-0 guest code is emulated on kvm_pvm: the guest's figures are its own work at "
	    "emulation speed; no instruction counter here)\n");
	return 0;
}
