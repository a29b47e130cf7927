/*
 * libFuzzer harness of shoald's configuration file (daemon/config.c): the
 * input is the file, loaded as `shoald -c FILE` loads it, and the TCP
 * listener's address it names parsed as the API parses it (api/auth.c).
 * A refusal must say what was wrong.  Seeds: contrib/shoald.conf.in and
 * the cases of tests/integration/test_config.sh and auth-config.txt.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/api_internal.h"
#include "daemon/daemon.h"

/*
 * The configuration's checks (reserve-cpus, in placement.c) and the
 * daemon's clocks come with the daemon library.
 */
static char path[64];
static int fd = -1;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct shoald_config *c;
	char err[1500];
	char *argv[] = { "shoald", "-c", path, NULL };

	if (fd < 0) {
		/* A file in memory, private (0600) as a token file must be. */
		fd = memfd_create("fuzz-config", MFD_CLOEXEC);
		if (fd < 0 || fchmod(fd, 0600) < 0)
			abort();
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	if (ftruncate(fd, 0) < 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
		abort();
	c = calloc(1, sizeof(*c));
	if (!c)
		abort();
	memset(err, 0, sizeof(err));
	if (config_load(c, 3, argv, err, sizeof(err)) < 0) {
		if (!err[0])
			abort();
	} else if (c->listen_tcp[0]) {
		struct sockaddr_storage sa;
		socklen_t salen;

		err[0] = '\0';
		if (api_parse_listen(c->listen_tcp, &sa, &salen, err, sizeof(err)) < 0 && !err[0])
			abort();
	}
	free(c);
	return 0;
}
