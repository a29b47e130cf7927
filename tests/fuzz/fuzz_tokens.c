/*
 * libFuzzer harness of the API's token file and bearer tokens (api/auth.c):
 * the input's first line is an Authorization header, the rest the token
 * file (written to a private file, as api_tokens_load wants it).  A file
 * it refuses has a reason; one it takes holds at least one token, and a
 * header it accepts names one.  Seeds: token files as tests/integration/
 * test_auth makes them, and the malformed ones it refuses (seeds.py).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/api_internal.h"

static char path[64];
static int fd = -1;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	size_t hlen = nl ? (size_t)(nl - data) : size;
	struct api_tokens *t;
	const char *name;
	char err[1500], *header;

	if (fd < 0) {
		/* A file in memory, private (0600) as a token file must be. */
		fd = memfd_create("fuzz-tokens", MFD_CLOEXEC);
		if (fd < 0 || fchmod(fd, 0600) < 0)
			abort();
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	header = malloc(hlen + 1);
	if (!header)
		abort();
	memcpy(header, data, hlen);
	header[hlen] = '\0';
	data += nl ? hlen + 1 : hlen;
	size -= nl ? hlen + 1 : hlen;
	if (ftruncate(fd, 0) < 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
		abort();
	err[0] = '\0';
	t = api_tokens_load(path, err, sizeof(err));
	if (!t && !err[0])
		abort();
	if (t && api_tokens_count(t) == 0)
		abort();
	if (api_tokens_check(t, header, &name) == API_TOKEN_OK && (!name || !name[0]))
		abort();
	api_tokens_check(t, NULL, &name);
	api_tokens_free(t);
	free(header);
	return 0;
}
