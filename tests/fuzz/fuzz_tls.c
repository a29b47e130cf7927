/*
 * libFuzzer harness of the TCP listener's certificate and key handling
 * where the code is ours (api/auth.c): tls-cert and tls-key read as files
 * (their size bound, the key's file checked private), the chain and the
 * key imported and paired, the expiry note, the chain of at most 16 made
 * into what gnutls serves, and the callback that hands it out.  GnuTLS's
 * own parsing runs under it, uninstrumented: what is checked is our use
 * of it.  The input is the certificate file, a NUL byte, then the key
 * file (no NUL: no key).  A pair it refuses has a reason naming tls-cert
 * or tls-key; one it takes serves from 1 to 16 certificates and a key,
 * and its note, if any, is about tls-cert.  Seeds: certificates and keys
 * openssl makes (RSA, ECDSA, Ed25519, a chain, an expired one, a pair that
 * does not match, an encrypted key, 17 certificates) and damaged copies
 * of them (seeds.py).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/api_internal.h"

static char cert_path[64], key_path[64];
static int cert_fd = -1, key_fd = -1;

/* A file in memory, private (0600) as a key must be. */
static int memfile(const char *name, char *path, size_t len)
{
	int fd = memfd_create(name, MFD_CLOEXEC);

	if (fd < 0 || fchmod(fd, 0600) < 0)
		abort();
	snprintf(path, len, "/proc/self/fd/%d", fd);
	return fd;
}

static void fill(int fd, const uint8_t *data, size_t size)
{
	if (ftruncate(fd, 0) < 0 || (size && pwrite(fd, data, size, 0) != (ssize_t)size))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, '\0', size);
	size_t clen = nul ? (size_t)(nul - data) : size;
	char note[300], err[1500];
	struct api_tls *t;
	gnutls_pcert_st *pcert = NULL;
	gnutls_privkey_t key = NULL;
	unsigned n = 0;

	if (cert_fd < 0) {
		cert_fd = memfile("fuzz-cert", cert_path, sizeof(cert_path));
		key_fd = memfile("fuzz-key", key_path, sizeof(key_path));
	}
	fill(cert_fd, data, clen);
	fill(key_fd, nul ? nul + 1 : data, nul ? size - clen - 1 : 0);
	memset(note, 'x', sizeof(note));
	err[0] = '\0';
	t = api_tls_new(cert_path, key_path, note, sizeof(note), err, sizeof(err));
	if (!memchr(note, '\0', sizeof(note)))
		abort();
	if (!t) {
		if (!strstr(err, "tls-cert") && !strstr(err, "tls-key"))
			abort();
		/* Nothing in use: the callback refuses. */
		api_tls_use(NULL);
		if (api_tls_retrieve(NULL, NULL, 0, NULL, 0, &pcert, &n, &key) != -1)
			abort();
		return 0;
	}
	if (note[0] && strncmp(note, "tls-cert ", 9))
		abort();
	api_tls_use(t);
	if (api_tls_retrieve(NULL, NULL, 0, NULL, 0, &pcert, &n, &key) != 0 || !pcert || !key ||
	    n < 1 || n > 16)
		abort();
	api_tls_use(NULL);
	api_tls_free(t);
	return 0;
}
