/*
 * The image store: guest images kept by their sha256 under
 * state-dir/images, each checked before it is kept (a valid shoal guest
 * for the backend's platform) and again at deploy (it fits the guest's
 * memory).  Uploads stream to a temporary file and are hashed as they
 * arrive; a deploy from a host path copies the file in, so rollback never
 * depends on a file that may change.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nettle/sha2.h>

#include "daemon/backend/backend.h"
#include "daemon/daemon.h"
#include "daemon/log.h"
#include "common/image.h"

struct shoald_upload {
	struct shoald *d;
	struct sha256_ctx sha;
	char tmp[1200];
	int fd;
	uint64_t bytes;
};

void image_path(const struct shoald *d, const char *sha256, char *buf, size_t len)
{
	snprintf(buf, len, "%s/images/%s", d->cfg.state_dir, sha256);
}

static void hex(const uint8_t *digest, char out[65])
{
	static const char digits[] = "0123456789abcdef";
	int i;

	for (i = 0; i < 32; i++) {
		out[2 * i] = digits[digest[i] >> 4];
		out[2 * i + 1] = digits[digest[i] & 15];
	}
	out[64] = '\0';
}

/* Check the file at fd is a shoal guest for this backend that fits mem_mib. */
static int check_elf(struct shoald *d, int fd, unsigned mem_mib, const char *what, struct sd_err *err)
{
	struct image_elf elf;
	struct stat st;
	char why[512];
	void *p;
	int r;

	if (fstat(fd, &st) < 0 || st.st_size == 0)
		return sd_err_set(err, 422, "bad_image", "image", "%s is empty", what);
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED)
		return sd_err_set(err, 500, "internal", "image", "cannot read %s: %s", what, strerror(errno));
	r = image_check(p, (uint64_t)st.st_size, (uint64_t)mem_mib << 20, d->be_ops->platform, &elf, why,
	                  sizeof(why));
	munmap(p, (size_t)st.st_size);
	if (r < 0)
		return sd_err_set(err, 422, "bad_image", "image", "%s is not a usable shoal guest: %s", what, why);
	return 0;
}

/* Move a checked temporary file into the store as sha256; records it. */
static int keep(struct shoald *d, const char *tmp, const char *sha, uint64_t bytes, const char *source,
                struct sd_err *err)
{
	char path[1200];

	image_path(d, sha, path, sizeof(path));
	if (access(path, F_OK) == 0) {
		unlink(tmp);
	} else if (rename(tmp, path) < 0) {
		unlink(tmp);
		return sd_err_set(err, 500, "internal", "image", "cannot store the image: %s", strerror(errno));
	}
	if (store_image_add(d->store, sha, bytes, now_wall_ns(), source) < 0)
		return sd_err_set(err, 500, "store_failed", "image", "cannot record the image in the state store");
	return 0;
}

static int make_tmp(struct shoald *d, char *tmp, size_t len, struct sd_err *err)
{
	int fd;

	snprintf(tmp, len, "%s/images/.incoming-XXXXXX", d->cfg.state_dir);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return sd_err_set(err, 500, "internal", "image", "cannot create a file in the image store: %s",
		                  strerror(errno));
	fchmod(fd, 0644);
	return fd;
}

/* Copy a host file into the store (checking size and content), giving its sha256. */
static int import_path(struct shoald *d, const char *src, char sha256[65], struct sd_err *err)
{
	struct sha256_ctx sha;
	uint8_t digest[SHA256_DIGEST_SIZE];
	char tmp[1200], buf[65536];
	struct stat st;
	uint64_t total = 0;
	int in, out = -1, rc = -1;
	ssize_t r;

	in = open(src, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (in < 0)
		return sd_err_set(err, 422, "image_unreadable", "image", "cannot open image %s: %s", src,
		                  strerror(errno));
	if (fstat(in, &st) < 0 || !S_ISREG(st.st_mode)) {
		sd_err_set(err, 422, "image_unreadable", "image", "image %s is not a regular file", src);
		goto out;
	}
	if ((uint64_t)st.st_size > d->cfg.max_image_bytes) {
		sd_err_set(err, 413, "image_too_large", "image", "image %s is %llu bytes, more than %llu (max-image-bytes)",
		           src, (unsigned long long)st.st_size, (unsigned long long)d->cfg.max_image_bytes);
		goto out;
	}
	out = make_tmp(d, tmp, sizeof(tmp), err);
	if (out < 0)
		goto out;
	sha256_init(&sha);
	while ((r = read(in, buf, sizeof(buf))) > 0) {
		total += (uint64_t)r;
		if (total > d->cfg.max_image_bytes || write(out, buf, (size_t)r) != r) {
			sd_err_set(err, 500, "internal", "image", "cannot copy image %s into the store", src);
			goto out;
		}
		sha256_update(&sha, (size_t)r, (const uint8_t *)buf);
	}
	if (r < 0) {
		sd_err_set(err, 422, "image_unreadable", "image", "cannot read image %s: %s", src, strerror(errno));
		goto out;
	}
	sha256_digest(&sha, sizeof(digest), digest);
	hex(digest, sha256);
	if (check_elf(d, out, d->cfg.guest_mem_max_mib, src, err) < 0)
		goto out;
	rc = keep(d, tmp, sha256, total, src, err);
	tmp[0] = '\0';
out:
	if (rc < 0 && out >= 0)
		unlink(tmp);
	if (out >= 0)
		close(out);
	close(in);
	return rc;
}

int image_resolve(struct shoald *d, const struct guest_spec *spec, char sha256[65], struct sd_err *err)
{
	char path[1200], what[100];
	int fd, r;

	if (spec_is_sha256(spec->image)) {
		memcpy(sha256, spec->image, 65); /* 64 hex digits and the NUL */
	} else if (import_path(d, spec->image, sha256, err) < 0) {
		return -1;
	}
	image_path(d, sha256, path, sizeof(path));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return sd_err_set(err, 404, "no_such_image", "image",
		                  "there is no image %s in the image store: upload it first (POST /v1/images)",
		                  sha256);
	snprintf(what, sizeof(what), "image %.12s", sha256);
	r = check_elf(d, fd, spec->memory_mib, what, err);
	close(fd);
	return r;
}

json_t *shoald_images_json(struct shoald *d)
{
	return store_images_json(d->store);
}

struct shoald_upload *shoald_image_upload_begin(struct shoald *d, struct sd_err *err)
{
	struct shoald_upload *u = calloc(1, sizeof(*u));

	if (!u) {
		sd_err_set(err, 500, "internal", "", "out of memory");
		return NULL;
	}
	u->d = d;
	u->fd = make_tmp(d, u->tmp, sizeof(u->tmp), err);
	if (u->fd < 0) {
		free(u);
		return NULL;
	}
	sha256_init(&u->sha);
	return u;
}

int shoald_image_upload_data(struct shoald_upload *u, const void *data, size_t len, struct sd_err *err)
{
	const char *p = data;

	u->bytes += len;
	if (u->bytes > u->d->cfg.max_image_bytes)
		return sd_err_set(err, 413, "image_too_large", "body", "the image is larger than %llu bytes (max-image-bytes)",
		                  (unsigned long long)u->d->cfg.max_image_bytes);
	sha256_update(&u->sha, len, data);
	while (len) {
		ssize_t r = write(u->fd, p, len);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return sd_err_set(err, 500, "internal", "body", "cannot write the image: %s", strerror(errno));
		}
		p += r;
		len -= (size_t)r;
	}
	return 0;
}

json_t *shoald_image_upload_end(struct shoald_upload *u, int *http, struct sd_err *err)
{
	struct shoald *d = u->d;
	uint8_t digest[SHA256_DIGEST_SIZE];
	char sha[65], path[1200];
	json_t *j = NULL;
	int existed;

	sha256_digest(&u->sha, sizeof(digest), digest);
	hex(digest, sha);
	if (u->bytes == 0) {
		sd_err_set(err, 400, "empty_body", "body", "the upload is empty: send the image as the request body");
		goto out;
	}
	if (check_elf(d, u->fd, d->cfg.guest_mem_max_mib, "the uploaded image", err) < 0)
		goto out;
	image_path(d, sha, path, sizeof(path));
	existed = access(path, F_OK) == 0;
	if (keep(d, u->tmp, sha, u->bytes, "upload", err) < 0)
		goto out;
	u->tmp[0] = '\0';
	*http = existed ? 200 : 201;
	if (!existed)
		event_emit(d, "image", NULL, "image %s uploaded (%llu bytes)", sha, (unsigned long long)u->bytes);
	j = json_pack("{s:s, s:I}", "sha256", sha, "bytes", (json_int_t)u->bytes);
out:
	shoald_image_upload_abort(u);
	return j;
}

void shoald_image_upload_abort(struct shoald_upload *u)
{
	if (!u)
		return;
	if (u->tmp[0])
		unlink(u->tmp);
	close(u->fd);
	free(u);
}
