/*
 * The image store: guest images kept by their sha256 under
 * state-dir/images, each checked before it is kept (a valid shoal guest
 * for the backend's platform) and again at deploy (it fits the guest's
 * memory).  Uploads stream to a temporary file and are hashed as they
 * arrive; a deploy from a host path copies the file in (off the loop, in
 * a worker thread), so rollback never depends on a file that may change.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
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
static int check_elf(struct shoald *d, int fd, unsigned mem_mib, const char *what,
                     struct sd_err *err)
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
		return sd_err_set(err, 500, "internal", "image", "cannot read %s: %s", what,
		                  strerror(errno));
	r = image_check(p, (uint64_t)st.st_size, (uint64_t)mem_mib << 20, d->be_ops->platform, &elf,
	                why, sizeof(why));
	munmap(p, (size_t)st.st_size);
	if (r < 0)
		return sd_err_set(err, 422, "bad_image", "image",
		                  "%s is not a usable shoal guest: %s", what, why);
	return 0;
}

/* Move a checked temporary file into the store as sha256; records it. */
static int keep(struct shoald *d, const char *tmp, const char *sha, uint64_t bytes,
                const char *source, struct sd_err *err)
{
	char path[1200];

	image_path(d, sha, path, sizeof(path));
	if (access(path, F_OK) == 0) {
		unlink(tmp);
	} else if (rename(tmp, path) < 0) {
		unlink(tmp);
		return sd_err_set(err, 500, "internal", "image", "cannot store the image: %s",
		                  strerror(errno));
	}
	if (store_image_add(d->store, sha, bytes, now_wall_ns(), source) < 0)
		return sd_err_set(err, 500, "store_failed", "image",
		                  "cannot record the image in the state store");
	return 0;
}

static int make_tmp(struct shoald *d, char *tmp, size_t len, struct sd_err *err)
{
	int fd;

	snprintf(tmp, len, "%s/images/.incoming-XXXXXX", d->cfg.state_dir);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return sd_err_set(err, 500, "internal", "image",
		                  "cannot create a file in the image store: %s", strerror(errno));
	fchmod(fd, 0644);
	return fd;
}

/*
 * Deploys from a host path.  The copy into the store (up to
 * max-image-bytes, read and hashed) runs in a worker thread, so that the
 * loop never waits on a disk; the worker touches only its own job and
 * the file system, and hands the job back through an ev_async.  The
 * checks that need the daemon (the image check for the backend, the
 * store's record) run on the loop when it comes back.
 */
struct image_import {
	struct shoald *d;
	pthread_t thread;
	char src[1024];
	char tmp[1200];
	int out; /* the copy, until kept or removed */
	uint64_t bytes;
	char sha256[65];
	int rc;
	struct sd_err err;
	image_import_fn fn;
	void *ctx;
	struct image_import *next;
};

/* Copy a host file into a temporary file of the store, hashing it (the worker). */
static void *import_run(void *arg)
{
	struct image_import *job = arg;
	struct shoald *d = job->d;
	struct sha256_ctx sha;
	uint8_t digest[SHA256_DIGEST_SIZE];
	static __thread char buf[65536];
	struct stat st;
	int in;
	ssize_t r;

	job->rc = -1;
	in = open(job->src, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (in < 0) {
		sd_err_set(&job->err, 422, "image_unreadable", "image", "cannot open image %s: %s",
		           job->src, strerror(errno));
		goto done;
	}
	if (fstat(in, &st) < 0 || !S_ISREG(st.st_mode)) {
		sd_err_set(&job->err, 422, "image_unreadable", "image",
		           "image %s is not a regular file", job->src);
		goto out;
	}
	if ((uint64_t)st.st_size > d->cfg.max_image_bytes) {
		sd_err_set(&job->err, 413, "image_too_large", "image",
		           "image %s is %llu bytes, more than %llu (max-image-bytes)", job->src,
		           (unsigned long long)st.st_size,
		           (unsigned long long)d->cfg.max_image_bytes);
		goto out;
	}
	job->out = make_tmp(d, job->tmp, sizeof(job->tmp), &job->err);
	if (job->out < 0)
		goto out;
	sha256_init(&sha);
	while ((r = read(in, buf, sizeof(buf))) > 0) {
		job->bytes += (uint64_t)r;
		if (job->bytes > d->cfg.max_image_bytes || write(job->out, buf, (size_t)r) != r) {
			sd_err_set(&job->err, 500, "internal", "image",
			           "cannot copy image %s into the store", job->src);
			goto out;
		}
		sha256_update(&sha, (size_t)r, (const uint8_t *)buf);
	}
	if (r < 0) {
		sd_err_set(&job->err, 422, "image_unreadable", "image", "cannot read image %s: %s",
		           job->src, strerror(errno));
		goto out;
	}
	sha256_digest(&sha, sizeof(digest), digest);
	hex(digest, job->sha256);
	job->rc = 0;
out:
	close(in);
done:
	pthread_mutex_lock(&d->imports.lock);
	job->next = d->imports.done;
	d->imports.done = job;
	pthread_mutex_unlock(&d->imports.lock);
	ev_async_send(d->loop, &d->imports.async);
	return NULL;
}

/* On the loop: check and keep what the workers copied, and tell whoever asked. */
static void on_imports(struct ev_loop *loop, ev_async *w, int revents)
{
	struct shoald *d = w->data;
	struct image_import *job, *next;

	(void)loop;
	(void)revents;
	pthread_mutex_lock(&d->imports.lock);
	job = d->imports.done;
	d->imports.done = NULL;
	pthread_mutex_unlock(&d->imports.lock);
	for (; job; job = next) {
		next = job->next;
		pthread_join(job->thread, NULL);
		d->imports.running--;
		if (job->rc == 0 &&
		    check_elf(d, job->out, d->cfg.guest_mem_max_mib, job->src, &job->err) < 0)
			job->rc = -1;
		if (job->rc == 0) {
			job->rc = keep(d, job->tmp, job->sha256, job->bytes, job->src, &job->err);
			job->tmp[0] = '\0';
		}
		if (job->tmp[0])
			unlink(job->tmp);
		if (job->out >= 0)
			close(job->out);
		job->fn(job->ctx, job->rc == 0 ? job->sha256 : NULL, &job->err);
		free(job);
	}
}

void images_init(struct shoald *d)
{
	pthread_mutex_init(&d->imports.lock, NULL);
	ev_async_init(&d->imports.async, on_imports);
	d->imports.async.data = d;
	ev_async_start(d->loop, &d->imports.async);
}

void images_fini(struct shoald *d)
{
	/* Let the copies under way end (each is bounded by max-image-bytes); their deploys are
	 * dropped. */
	while (d->imports.running) {
		struct image_import *job;

		pthread_mutex_lock(&d->imports.lock);
		job = d->imports.done;
		d->imports.done = job ? job->next : NULL;
		pthread_mutex_unlock(&d->imports.lock);
		if (!job) {
			usleep(1000);
			continue;
		}
		pthread_join(job->thread, NULL);
		d->imports.running--;
		if (job->tmp[0])
			unlink(job->tmp);
		if (job->out >= 0)
			close(job->out);
		free(job);
	}
	ev_async_stop(d->loop, &d->imports.async);
	pthread_mutex_destroy(&d->imports.lock);
}

int image_import_start(struct shoald *d, const char *path, image_import_fn fn, void *ctx,
                       struct sd_err *err)
{
	struct image_import *job = calloc(1, sizeof(*job));
	int r;

	if (!job)
		return sd_err_set(err, 500, "internal", "", "out of memory");
	if (strlen(path) >= sizeof(job->src)) {
		free(job);
		return sd_err_set(err, 400, "bad_value", "image",
		                  "the image path is longer than %zu bytes", sizeof(job->src) - 1);
	}
	job->d = d;
	job->out = -1;
	snprintf(job->src, sizeof(job->src), "%s", path);
	job->fn = fn;
	job->ctx = ctx;
	r = pthread_create(&job->thread, NULL, import_run, job);
	if (r != 0) {
		free(job);
		return sd_err_set(err, 503, "internal", "image",
		                  "cannot start copying image %s: %s", path, strerror(r));
	}
	d->imports.running++;
	return 0;
}

int image_resolve(struct shoald *d, const struct guest_spec *spec, const char *imported,
                  char sha256[65], struct sd_err *err)
{
	char path[1200], what[100];
	int fd, r;

	if (spec_is_sha256(spec->image))
		memcpy(sha256, spec->image, 65); /* 64 hex digits and the NUL */
	else if (imported)
		memcpy(sha256, imported, 65);
	else
		return sd_err_set(err, 500, "internal", "image",
		                  "image %s has not been copied into the store", spec->image);
	image_path(d, sha256, path, sizeof(path));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return sd_err_set(
		    err, 404, "no_such_image", "image",
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

int shoald_image_upload_data(struct shoald_upload *u, const void *data, size_t len,
                             struct sd_err *err)
{
	const char *p = data;

	u->bytes += len;
	if (u->bytes > u->d->cfg.max_image_bytes)
		return sd_err_set(err, 413, "image_too_large", "body",
		                  "the image is larger than %llu bytes (max-image-bytes)",
		                  (unsigned long long)u->d->cfg.max_image_bytes);
	sha256_update(&u->sha, len, data);
	while (len) {
		ssize_t r = write(u->fd, p, len);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return sd_err_set(err, 500, "internal", "body",
			                  "cannot write the image: %s", strerror(errno));
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
		sd_err_set(err, 400, "empty_body", "body",
		           "the upload is empty: send the image as the request body");
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
		event_emit(d, "image", NULL, "image %s uploaded (%llu bytes)", sha,
		           (unsigned long long)u->bytes);
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
