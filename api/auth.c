/*
 * Who may use the API.  On the unix socket: the caller's credentials as
 * the kernel saw them at connect() (SO_PEERCRED, SO_PEERGROUPS): root,
 * and members of the socket's group.  On TCP: TLS, and a bearer token
 * from the token file.  Only the tokens' SHA-256 is kept, and a presented
 * token is compared against every one of them in constant time, so
 * neither the time of an answer nor a core dump gives a token away.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <nettle/memops.h>
#include <nettle/sha2.h>

#include "api/api_internal.h"
#include "common/proc_status.h"

#define TOKEN_MIN_CHARS 16
#define TOKEN_MAX_CHARS 512
#define TOKENS_MAX      4096
#define PEM_MAX_BYTES   (1u << 20)

struct api_token {
	uint8_t sha[SHA256_DIGEST_SIZE];
	char name[64];
};

struct api_tokens {
	size_t n;
	struct api_token t[];
};

/* A file that holds a secret: a regular file nobody but its owner (root or us) can read or change.
 */
int api_check_private_file(const char *path, const char *what, int fd, char *err, size_t errlen)
{
	struct stat st;

	if (fstat(fd, &st) < 0) {
		snprintf(err, errlen, "%s %s: %s", what, path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s %s is not a regular file", what, path);
		return -1;
	}
	if (st.st_uid != 0 && st.st_uid != geteuid()) {
		snprintf(err, errlen,
		         "%s %s belongs to uid %u: it must belong to root (chown root %s)", what,
		         path, (unsigned)st.st_uid, path);
		return -1;
	}
	if (st.st_mode & 0027) {
		snprintf(
		    err, errlen,
		    "%s %s is mode %04o: %s; it holds a secret, so it must not be (chmod 600 %s)",
		    what, path, (unsigned)(st.st_mode & 07777),
		    st.st_mode & 0004   ? "anyone may read it"
		    : st.st_mode & 0020 ? "its group may change it"
		                        : "others have access to it",
		    path);
		return -1;
	}
	return 0;
}

/*
 * The whole of a small file, NUL-terminated; private: checked by
 * api_check_private_file.  The buffer starts at the file's size (a few
 * KiB for a certificate or a token file) and grows while the file does,
 * up to the bound, rather than taking the bound's 1 MiB for every read.
 */
static char *read_small(const char *path, const char *what, int private, size_t *len, char *err,
                        size_t errlen)
{
	char *buf = NULL;
	size_t n = 0, cap;
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

	if (fd < 0) {
		snprintf(err, errlen, "cannot read %s %s: %s", what, path, strerror(errno));
		return NULL;
	}
	if (private && api_check_private_file(path, what, fd, err, errlen) < 0)
		goto fail;
	/* One byte more than the file, to see its end; at most the bound and one. */
	cap = fstat(fd, &st) == 0 && st.st_size > 0 && st.st_size <= PEM_MAX_BYTES
	          ? (size_t)st.st_size + 1
	          : 4096;
	buf = malloc(cap + 1);
	if (!buf) {
		snprintf(err, errlen, "out of memory reading %s", path);
		goto fail;
	}
	for (;;) {
		ssize_t r;

		if (n == cap && cap < PEM_MAX_BYTES + 1) {
			size_t more = cap * 2 < PEM_MAX_BYTES + 1 ? cap * 2 : PEM_MAX_BYTES + 1;
			char *bigger = malloc(more + 1);

			if (!bigger) {
				snprintf(err, errlen, "out of memory reading %s", path);
				goto fail;
			}
			/* Not realloc: what was read may be a secret, and is wiped below. */
			memcpy(bigger, buf, n);
			explicit_bzero(buf, n);
			free(buf);
			buf = bigger;
			cap = more;
		}
		r = read(fd, buf + n, cap - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(err, errlen, "cannot read %s %s: %s", what, path, strerror(errno));
			goto fail;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > PEM_MAX_BYTES) {
			snprintf(err, errlen, "%s %s is larger than %u bytes", what, path,
			         PEM_MAX_BYTES);
			goto fail;
		}
	}
	close(fd);
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
fail:
	if (buf) {
		explicit_bzero(buf, n);
		free(buf);
	}
	close(fd);
	return NULL;
}

/* ---- tokens ---- */

static int token_char(char c)
{
	/* RFC 6750's b64token, without the trailing '=' padding handled below */
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       strchr("-._~+/", c);
}

/* The token at s (up to whitespace): its length, or 0 when s is not one. */
static size_t token_len(const char *s)
{
	size_t n = 0;

	while (s[n] && token_char(s[n]))
		n++;
	if (n == 0)
		return 0;
	while (s[n] == '=')
		n++;
	return n;
}

static void token_hash(const char *tok, size_t len, uint8_t out[SHA256_DIGEST_SIZE])
{
	struct sha256_ctx ctx;

	sha256_init(&ctx);
	sha256_update(&ctx, len, (const uint8_t *)tok);
	sha256_digest(&ctx, SHA256_DIGEST_SIZE, out);
}

struct api_tokens *api_tokens_load(const char *path, char *err, size_t errlen)
{
	struct api_tokens *t = NULL;
	char *text, *line, *save = NULL;
	unsigned lineno = 0;
	size_t len, lines;

	text = read_small(path, "token-file", 1, &len, err, errlen);
	if (!text)
		return NULL;
	/* A token a line at most: room for the lines, up to the most there may be. */
	lines = 1;
	for (line = text; (line = strchr(line, '\n')); line++)
		lines++;
	t = calloc(1, sizeof(*t) + (lines < TOKENS_MAX ? lines : TOKENS_MAX) * sizeof(t->t[0]));
	if (!t) {
		snprintf(err, errlen, "out of memory reading token-file %s", path);
		goto fail;
	}
	for (line = text; line; line = save) {
		char *nl = strchr(line, '\n'), *p = line, *name;
		struct api_token *tok;
		size_t n, i;

		save = nl ? nl + 1 : NULL;
		if (nl)
			*nl = '\0';
		lineno++;
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p || *p == '#' || *p == '\r')
			continue;
		n = token_len(p);
		if (n == 0 || (p[n] && p[n] != ' ' && p[n] != '\t' && p[n] != '\r')) {
			snprintf(err, errlen,
			         "token-file %s:%u: a line is a token (letters, digits and -._~+/) "
			         "and then, after a "
			         "space, an optional name",
			         path, lineno);
			goto fail;
		}
		if (n < TOKEN_MIN_CHARS || n > TOKEN_MAX_CHARS) {
			snprintf(err, errlen,
			         "token-file %s:%u: the token has %zu characters; it needs %d to "
			         "%d (openssl rand -hex "
			         "32 makes one)",
			         path, lineno, n, TOKEN_MIN_CHARS, TOKEN_MAX_CHARS);
			goto fail;
		}
		if (t->n == TOKENS_MAX) {
			snprintf(err, errlen, "token-file %s: more than %d tokens", path,
			         TOKENS_MAX);
			goto fail;
		}
		tok = &t->t[t->n];
		token_hash(p, n, tok->sha);
		name = p + n;
		while (*name == ' ' || *name == '\t')
			name++;
		snprintf(tok->name, sizeof(tok->name), "%s", *name && *name != '\r' ? name : "");
		tok->name[strcspn(tok->name, "\r")] = '\0';
		if (!tok->name[0])
			snprintf(tok->name, sizeof(tok->name), "line %u", lineno);
		for (i = 0; i < t->n; i++)
			if (!memcmp(t->t[i].sha, tok->sha, sizeof(tok->sha))) {
				snprintf(err, errlen, "token-file %s:%u: the same token as %s",
				         path, lineno, t->t[i].name);
				goto fail;
			}
		t->n++;
	}
	if (t->n == 0) {
		snprintf(err, errlen,
		         "token-file %s has no token (one a line; openssl rand -hex 32 makes one)",
		         path);
		goto fail;
	}
	explicit_bzero(text, len);
	free(text);
	return t;
fail:
	explicit_bzero(text, len);
	free(text);
	free(t);
	return NULL;
}

size_t api_tokens_count(const struct api_tokens *t)
{
	return t ? t->n : 0;
}

void api_tokens_free(struct api_tokens *t)
{
	if (t)
		explicit_bzero(t, sizeof(*t) + t->n * sizeof(t->t[0]));
	free(t);
}

int api_tokens_check(const struct api_tokens *t, const char *authorization, const char **name)
{
	uint8_t sha[SHA256_DIGEST_SIZE];
	const char *p = authorization;
	size_t i, n, hit = SIZE_MAX;

	*name = NULL;
	if (!p || strncasecmp(p, "Bearer", 6) != 0 || (p[6] != ' ' && p[6] != '\t'))
		return API_TOKEN_MISSING;
	p += 6;
	while (*p == ' ' || *p == '\t')
		p++;
	n = token_len(p);
	if (n == 0 || n > TOKEN_MAX_CHARS || (p[n] && p[n] != ' ' && p[n] != '\t'))
		return API_TOKEN_INVALID;
	token_hash(p, n, sha);
	/* Every token is compared, whatever matched, so that the time says nothing. */
	for (i = 0; t && i < t->n; i++)
		if (memeql_sec(sha, t->t[i].sha, sizeof(sha)))
			hit = i;
	explicit_bzero(sha, sizeof(sha));
	if (hit == SIZE_MAX)
		return API_TOKEN_INVALID;
	*name = t->t[hit].name;
	return API_TOKEN_OK;
}

/* ---- TLS material ---- */

int api_tls_load(const char *cert_path, const char *key_path, char **cert_pem, char **key_pem,
                 char *note, size_t notelen, char *err, size_t errlen)
{
	gnutls_certificate_credentials_t cred = NULL;
	gnutls_x509_crt_t *crts = NULL;
	gnutls_x509_privkey_t key = NULL;
	unsigned ncrt = 0, i;
	gnutls_datum_t cd, kd;
	char *cert = NULL, *keytext = NULL;
	size_t clen = 0, klen = 0;
	time_t now = time(NULL), until, from;
	int r, rc = -1;

	note[0] = '\0';
	cert = read_small(cert_path, "tls-cert", 0, &clen, err, errlen);
	if (!cert)
		goto out;
	keytext = read_small(key_path, "tls-key", 1, &klen, err, errlen);
	if (!keytext)
		goto out;
	cd = (gnutls_datum_t){ (unsigned char *)cert, (unsigned)clen };
	kd = (gnutls_datum_t){ (unsigned char *)keytext, (unsigned)klen };
	r = gnutls_x509_crt_list_import2(&crts, &ncrt, &cd, GNUTLS_X509_FMT_PEM, 0);
	if (r < 0 || ncrt == 0) {
		snprintf(err, errlen, "tls-cert %s is not a PEM certificate: %s", cert_path,
		         r < 0 ? gnutls_strerror(r) : "it has none");
		goto out;
	}
	r = gnutls_x509_privkey_init(&key);
	if (r == 0)
		r = gnutls_x509_privkey_import2(key, &kd, GNUTLS_X509_FMT_PEM, NULL,
		                                GNUTLS_PKCS_PLAIN);
	if (r < 0) {
		snprintf(err, errlen, "tls-key %s is not an unencrypted PEM private key: %s",
		         key_path, gnutls_strerror(r));
		goto out;
	}
	r = gnutls_certificate_allocate_credentials(&cred);
	if (r == 0)
		r = gnutls_certificate_set_x509_key_mem2(cred, &cd, &kd, GNUTLS_X509_FMT_PEM, NULL,
		                                         0);
	if (r < 0) {
		snprintf(err, errlen, "tls-key %s does not go with tls-cert %s: %s", key_path,
		         cert_path, gnutls_strerror(r));
		goto out;
	}
	until = gnutls_x509_crt_get_expiration_time(crts[0]);
	from = gnutls_x509_crt_get_activation_time(crts[0]);
	if (until != (time_t)-1 && until < now) {
		char when[64];

		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", gmtime(&until));
		snprintf(note, notelen, "tls-cert %s expired on %s: TLS clients will refuse it",
		         cert_path, when);
	} else if (from != (time_t)-1 && from > now) {
		char when[64];

		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", gmtime(&from));
		snprintf(note, notelen,
		         "tls-cert %s is valid only from %s: TLS clients will refuse it until then",
		         cert_path, when);
	}
	*cert_pem = cert;
	*key_pem = keytext;
	cert = keytext = NULL;
	rc = 0;
out:
	if (cred)
		gnutls_certificate_free_credentials(cred);
	if (key)
		gnutls_x509_privkey_deinit(key);
	for (i = 0; i < ncrt; i++)
		gnutls_x509_crt_deinit(crts[i]);
	gnutls_free(crts);
	free(cert);
	if (keytext) {
		explicit_bzero(keytext, klen);
		free(keytext);
	}
	return rc;
}

#define TLS_CHAIN_MAX 16

struct api_tls {
	gnutls_pcert_st pcert[TLS_CHAIN_MAX];
	unsigned npcert;
	gnutls_privkey_t key;
};

struct api_tls *api_tls_new(const char *cert_path, const char *key_path, char *note, size_t notelen,
                            char *err, size_t errlen)
{
	struct api_tls *t = NULL;
	char *cert = NULL, *key = NULL;
	gnutls_datum_t cd, kd;
	int r;

	if (api_tls_load(cert_path, key_path, &cert, &key, note, notelen, err, errlen) < 0)
		return NULL;
	t = calloc(1, sizeof(*t));
	if (!t) {
		snprintf(err, errlen, "out of memory reading tls-cert %s", cert_path);
		goto out;
	}
	cd = (gnutls_datum_t){ (unsigned char *)cert, (unsigned)strlen(cert) };
	kd = (gnutls_datum_t){ (unsigned char *)key, (unsigned)strlen(key) };
	t->npcert = TLS_CHAIN_MAX;
	r = gnutls_pcert_list_import_x509_raw(t->pcert, &t->npcert, &cd, GNUTLS_X509_FMT_PEM, 0);
	if (r < 0) {
		snprintf(err, errlen, "tls-cert %s: %s", cert_path,
		         r == GNUTLS_E_SHORT_MEMORY_BUFFER
		             ? "more than 16 certificates in the chain"
		             : gnutls_strerror(r));
		t->npcert = 0;
		goto fail;
	}
	r = gnutls_privkey_init(&t->key);
	if (r == 0)
		r = gnutls_privkey_import_x509_raw(t->key, &kd, GNUTLS_X509_FMT_PEM, NULL, 0);
	if (r < 0) {
		snprintf(err, errlen, "tls-key %s: %s", key_path, gnutls_strerror(r));
		goto fail;
	}
	goto out;
fail:
	api_tls_free(t);
	t = NULL;
out:
	free(cert);
	if (key) {
		explicit_bzero(key, strlen(key));
		free(key);
	}
	return t;
}

void api_tls_free(struct api_tls *t)
{
	unsigned i;

	if (!t)
		return;
	for (i = 0; i < t->npcert; i++)
		gnutls_pcert_deinit(&t->pcert[i]);
	if (t->key)
		gnutls_privkey_deinit(t->key);
	free(t);
}

/*
 * gnutls's certificate callback takes no argument of ours, so the
 * identity in use is here; there is one TLS listener in a shoald, and it
 * runs on the daemon's one thread.
 */
static const struct api_tls *tls_in_use;

void api_tls_use(const struct api_tls *t)
{
	tls_in_use = t;
}

int api_tls_retrieve(gnutls_session_t session, const gnutls_datum_t *req_ca_dn, int nreqs,
                     const gnutls_pk_algorithm_t *pk_algos, int pk_algos_length,
                     gnutls_pcert_st **pcert, unsigned int *pcert_length, gnutls_privkey_t *privkey)
{
	(void)session;
	(void)req_ca_dn;
	(void)nreqs;
	(void)pk_algos;
	(void)pk_algos_length;
	if (!tls_in_use)
		return -1;
	/* gnutls borrows these for the session: api_tls_free waits until no connection is open. */
	*pcert = (gnutls_pcert_st *)tls_in_use->pcert;
	*pcert_length = tls_in_use->npcert;
	*privkey = tls_in_use->key;
	return 0;
}

/* ---- addresses ---- */

int api_parse_listen(const char *s, struct sockaddr_storage *sa, socklen_t *salen, char *err,
                     size_t errlen)
{
	struct addrinfo hints = { .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE,
		                  .ai_socktype = SOCK_STREAM };
	struct addrinfo *res = NULL;
	char host[128], *end;
	const char *colon, *port;
	unsigned long pn;
	int r;

	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (!close || close[1] != ':' || (size_t)(close - s - 1) >= sizeof(host))
			goto bad;
		memcpy(host, s + 1, (size_t)(close - s - 1));
		host[close - s - 1] = '\0';
		port = close + 2;
		hints.ai_family = AF_INET6;
	} else {
		colon = strrchr(s, ':');
		if (!colon || strchr(s, ':') != colon || (size_t)(colon - s) >= sizeof(host))
			goto bad;
		memcpy(host, s, (size_t)(colon - s));
		host[colon - s] = '\0';
		port = colon + 1;
		hints.ai_family = AF_INET;
		if (!strcmp(host, "*"))
			snprintf(host, sizeof(host), "0.0.0.0");
	}
	errno = 0;
	pn = strtoul(port, &end, 10);
	if (!host[0] || !*port || *end || errno || pn == 0 || pn > 65535 || port[0] < '0' ||
	    port[0] > '9')
		goto bad;
	r = getaddrinfo(host, port, &hints, &res);
	if (r != 0 || !res)
		goto bad;
	memcpy(sa, res->ai_addr, res->ai_addrlen);
	*salen = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
bad:
	snprintf(err, errlen,
	         "listen-tcp \"%s\" is not ADDRESS:PORT (an IPv4 address like 127.0.0.1:8443, or "
	         "an IPv6 one in "
	         "brackets like [::1]:8443; * or [::] for every address; a port from 1 to 65535)",
	         s);
	return -1;
}

void api_format_addr(const struct sockaddr *sa, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN] = "?", serv[16] = "?";

	if (!sa) {
		snprintf(buf, len, "?");
		return;
	}
	getnameinfo(sa,
	            sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
	                                      : sizeof(struct sockaddr_in),
	            host, sizeof(host), serv, sizeof(serv), NI_NUMERICHOST | NI_NUMERICSERV);
	if (sa->sa_family == AF_INET6)
		snprintf(buf, len, "[%s]:%s", host, serv);
	else
		snprintf(buf, len, "%s:%s", host, serv);
}

/* ---- the unix socket's callers ---- */

/* The supplementary groups of pid from /proc, for kernels without SO_PEERGROUPS. */
static int proc_in_group(pid_t pid, gid_t g)
{
	char val[4096], *p = val, *end;
	int in = 0;

	if (proc_status_field(pid, "Groups:", val, sizeof(val)) < 0)
		return 0;
	for (;;) {
		unsigned long v = strtoul(p, &end, 10);

		if (end == p)
			break;
		if ((gid_t)v == g)
			in = 1;
		p = end;
	}
	return in;
}

int api_peer_check(int fd, int have_group, gid_t group, struct api_peer *p)
{
	struct ucred uc;
	socklen_t len = sizeof(uc);
	gid_t small[64], *groups = small;
	int i, n;

	memset(p, 0, sizeof(*p));
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) < 0) {
		snprintf(p->who, sizeof(p->who), "a caller whose credentials cannot be read (%s)",
		         strerror(errno));
		return -1;
	}
	p->uid = uc.uid;
	p->gid = uc.gid;
	p->pid = uc.pid;
	snprintf(p->who, sizeof(p->who), "uid %u (gid %u, pid %d)", (unsigned)uc.uid,
	         (unsigned)uc.gid, (int)uc.pid);
	if (uc.uid == 0 || (have_group && uc.gid == group)) {
		p->allowed = 1;
		return 0;
	}
	if (!have_group)
		return 0;
	/* The groups the caller had at connect(), as the kernel kept them. */
	len = sizeof(small);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, small, &len) < 0) {
		if (errno == ERANGE && len > sizeof(small) && (groups = malloc(len)) &&
		    getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) == 0)
			goto have;
		if (groups != small)
			free(groups);
		p->allowed = proc_in_group(uc.pid, group);
		return 0;
	}
have:
	n = (int)(len / sizeof(gid_t));
	for (i = 0; i < n; i++)
		if (groups[i] == group)
			p->allowed = 1;
	if (groups != small)
		free(groups);
	return 0;
}
