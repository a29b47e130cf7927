/*
 * The image store: guest and disk images kept by their sha256 under
 * state-dir/images, each checked before it is kept (a guest: a valid
 * shoal guest for the backend's platform; a disk: whole 512-byte sectors)
 * and again at deploy (a guest fits its memory).  Uploads stream to a
 * temporary file and are hashed as they arrive; a deploy from a host path
 * copies the file in (off the loop, in a worker thread), so rollback never
 * depends on a file that may change.  The guests' own copies of writable
 * disks are made by the same workers.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <nettle/sha2.h>

#include "daemon/backend/backend.h"
#include "daemon/daemon.h"
#include "daemon/log.h"
#include "common/image.h"

#define SECTOR_BYTES 512u

struct shoald_upload {
	struct shoald *d;
	enum image_kind kind;
	struct sha256_ctx sha;
	char tmp[1200];
	int fd;
	uint64_t bytes;
};

const char *image_kind_str(enum image_kind k)
{
	return k == IMAGE_KIND_DISK ? "disk" : "guest";
}

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

/* Check the file at fd is a sound disk: not empty, whole 512-byte sectors. */
static int check_disk(int fd, const char *what, const char *field, struct sd_err *err)
{
	struct stat st;

	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return sd_err_set(err, 422, "bad_disk", field, "%s: %s is not a regular file",
		                  field, what);
	if (st.st_size == 0)
		return sd_err_set(err, 422, "bad_disk", field, "%s: %s is empty", field, what);
	if (st.st_size % SECTOR_BYTES)
		return sd_err_set(err, 422, "bad_disk", field,
		                  "%s: %s is %lld bytes, not a whole number of %u-byte sectors",
		                  field, what, (long long)st.st_size, SECTOR_BYTES);
	return 0;
}

int shoald_no_space(int e)
{
	return e == ENOSPC || e == EDQUOT;
}

int shoald_err_no_space(struct sd_err *err, const char *field, const char *path)
{
	char mount[1200], up[1200], *slash;
	struct statvfs vfs;
	struct stat st, ust;

	/* The mount point: the highest directory on path's device. */
	snprintf(mount, sizeof(mount), "%s", path);
	if (stat(mount, &st) < 0) {
		slash = strrchr(mount, '/');
		if (slash && slash != mount)
			*slash = '\0';
		if (stat(mount, &st) < 0)
			st.st_dev = 0;
	}
	while (st.st_dev && strcmp(mount, "/")) {
		snprintf(up, sizeof(up), "%s", mount);
		slash = strrchr(up, '/');
		if (!slash)
			break;
		if (slash == up)
			slash[1] = '\0';
		else
			*slash = '\0';
		if (stat(up, &ust) < 0 || ust.st_dev != st.st_dev)
			break;
		snprintf(mount, sizeof(mount), "%s", up);
	}
	if (statvfs(mount, &vfs) < 0)
		return sd_err_set(err, 507, "no_space", field,
		                  "%s%sno space left for %s on its file system", field,
		                  field[0] ? ": " : "", path);
	return sd_err_set(err, 507, "no_space", field,
	                  "%s%sno space left for %s: its file system, mounted on %s, has %llu of "
	                  "%llu bytes free; deploys work again once there is room",
	                  field, field[0] ? ": " : "", path, mount,
	                  (unsigned long long)vfs.f_bavail * vfs.f_frsize,
	                  (unsigned long long)vfs.f_blocks * vfs.f_frsize);
}

/* Write all of buf (a short write is retried, so that errno says why it stopped); 0 or -1. */
static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t r = write(fd, p, len);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		len -= (size_t)r;
	}
	return 0;
}

/* The same bytes are one kind of image: a guest is never a disk, nor a disk a guest. */
static int check_kind(struct shoald *d, const char *sha, enum image_kind kind, const char *field,
                      struct sd_err *err)
{
	char known[16];

	if (store_image_kind(d->store, sha, known, sizeof(known)) != 1 ||
	    !strcmp(known, image_kind_str(kind)))
		return 0;
	return sd_err_set(err, 409, "image_kind_conflict", field,
	                  "%s: image %.12s is already in the store as a %s image, not a %s", field,
	                  sha, known, image_kind_str(kind));
}

/* Move a checked temporary file into the store as sha256; records it. */
static int keep(struct shoald *d, const char *tmp, const char *sha, uint64_t bytes,
                const char *source, enum image_kind kind, const char *field, struct sd_err *err)
{
	char path[1200];

	if (check_kind(d, sha, kind, field, err) < 0) {
		unlink(tmp);
		return -1;
	}
	image_path(d, sha, path, sizeof(path));
	if (access(path, F_OK) == 0) {
		unlink(tmp);
	} else if (rename(tmp, path) < 0) {
		unlink(tmp);
		return sd_err_set(err, 500, "internal", field, "cannot store the image: %s",
		                  strerror(errno));
	}
	if (store_image_add(d->store, sha, bytes, now_wall_ns(), source, image_kind_str(kind)) < 0)
		return store_failed_full(d->store)
		           ? shoald_err_no_space(err, field, store_path(d->store))
		           : sd_err_set(err, 500, "store_failed", field,
		                        "cannot record the image in the state store");
	return 0;
}

static int make_tmp(struct shoald *d, char *tmp, size_t len, struct sd_err *err)
{
	int fd;

	snprintf(tmp, len, "%s/images/.incoming-XXXXXX", d->cfg.state_dir);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0 && shoald_no_space(errno))
		return shoald_err_no_space(err, "image", tmp);
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
 * store's record) run on the loop when it comes back.  A guest's copy of
 * a writable disk is a job of the same kind: made by a worker, reported
 * on the loop.
 */
enum job_type { JOB_IMPORT, JOB_COPY };

struct image_import {
	struct shoald *d;
	pthread_t thread;
	enum job_type type;
	enum image_kind kind; /* an import's */
	char field[48];       /* the spec's field it is for: "image", "disks[2].image" */
	char src[1200];
	char dst[1200]; /* a copy's */
	char tmp[1216];
	int out; /* the copy, until kept or removed */
	uint64_t bytes;
	char sha256[65];
	int rc;
	struct sd_err err;
	image_import_fn fn;
	disk_copy_fn copy_fn;
	void *ctx;
	struct image_import *next;
};

static void job_done(struct image_import *job)
{
	struct shoald *d = job->d;

	pthread_mutex_lock(&d->imports.lock);
	job->next = d->imports.done;
	d->imports.done = job;
	pthread_mutex_unlock(&d->imports.lock);
	ev_async_send(d->loop, &d->imports.async);
}

/* Copy a host file into a temporary file of the store, hashing it (the worker). */
static void *import_run(void *arg)
{
	struct image_import *job = arg;
	struct shoald *d = job->d;
	struct sha256_ctx sha;
	uint8_t digest[SHA256_DIGEST_SIZE];
	static __thread char buf[65536];
	const char *f = job->field;
	struct stat st;
	int in;
	ssize_t r;

	job->rc = -1;
	in = open(job->src, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (in < 0) {
		sd_err_set(&job->err, 422, "image_unreadable", f, "%s: cannot open %s: %s", f,
		           job->src, strerror(errno));
		goto done;
	}
	if (fstat(in, &st) < 0 || !S_ISREG(st.st_mode)) {
		sd_err_set(&job->err, 422, "image_unreadable", f, "%s: %s is not a regular file", f,
		           job->src);
		goto out;
	}
	if ((uint64_t)st.st_size > d->cfg.max_image_bytes) {
		sd_err_set(&job->err, 413, "image_too_large", f,
		           "%s: %s is %llu bytes, more than %llu (max-image-bytes)", f, job->src,
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
		if (job->bytes > d->cfg.max_image_bytes ||
		    write_all(job->out, buf, (size_t)r) < 0) {
			if (job->bytes <= d->cfg.max_image_bytes && shoald_no_space(errno))
				shoald_err_no_space(&job->err, f, job->tmp);
			else
				sd_err_set(&job->err, 500, "internal", f,
				           "%s: cannot copy %s into the store", f, job->src);
			goto out;
		}
		sha256_update(&sha, (size_t)r, (const uint8_t *)buf);
	}
	if (r < 0) {
		sd_err_set(&job->err, 422, "image_unreadable", f, "%s: cannot read %s: %s", f,
		           job->src, strerror(errno));
		goto out;
	}
	sha256_digest(&sha, sizeof(digest), digest);
	hex(digest, job->sha256);
	job->rc = 0;
out:
	close(in);
done:
	job_done(job);
	return NULL;
}

static int all_zero(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

/*
 * Copy src to the fd out, sparsely: a reflink where the file system
 * shares blocks (FICLONE: btrfs, XFS), else block by block, leaving
 * holes where the image has zeros.
 */
static int copy_sparse(int in, int out, uint64_t *bytes)
{
	static __thread char buf[65536];
	ssize_t r;
	off_t size;

	if (ioctl(out, FICLONE, in) == 0) {
		size = lseek(out, 0, SEEK_END);
		*bytes = size > 0 ? (uint64_t)size : 0;
		return 0;
	}
	*bytes = 0;
	while ((r = read(in, buf, sizeof(buf))) > 0) {
		if (all_zero(buf, (size_t)r)) {
			if (lseek(out, r, SEEK_CUR) < 0)
				return -1;
		} else if (write_all(out, buf, (size_t)r) < 0) {
			return -1;
		}
		*bytes += (uint64_t)r;
	}
	if (r < 0 || ftruncate(out, (off_t)*bytes) < 0)
		return -1;
	return 0;
}

/* Make a guest's copy of a disk image (the worker): into a temporary file, then renamed. */
static void *copy_run(void *arg)
{
	struct image_import *job = arg;
	char dir[1200], *slash;
	int in = -1;

	job->rc = -1;
	snprintf(dir, sizeof(dir), "%s", job->dst);
	slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	if (mkdir(dir, 0750) < 0 && errno != EEXIST) {
		sd_err_set(&job->err, 500, "disk_copy_failed", job->field, "%s: cannot make %s: %s",
		           job->field, dir, strerror(errno));
		goto done;
	}
	in = open(job->src, O_RDONLY | O_CLOEXEC);
	if (in < 0) {
		sd_err_set(&job->err, 500, "disk_copy_failed", job->field,
		           "%s: cannot open the image %s: %s", job->field, job->src,
		           strerror(errno));
		goto done;
	}
	snprintf(job->tmp, sizeof(job->tmp), "%s.tmp-XXXXXX", job->dst);
	job->out = mkostemp(job->tmp, O_CLOEXEC);
	if (job->out < 0) {
		job->tmp[0] = '\0';
		sd_err_set(&job->err, 500, "disk_copy_failed", job->field,
		           "%s: cannot make the guest's copy in %s: %s", job->field, dir,
		           strerror(errno));
		goto done;
	}
	fchmod(job->out, 0640);
	if (copy_sparse(in, job->out, &job->bytes) < 0 || fsync(job->out) < 0 ||
	    rename(job->tmp, job->dst) < 0) {
		if (shoald_no_space(errno))
			shoald_err_no_space(&job->err, job->field, job->dst);
		else
			sd_err_set(&job->err, 500, "disk_copy_failed", job->field,
			           "%s: cannot copy the image to %s: %s", job->field, job->dst,
			           strerror(errno));
		goto done;
	}
	job->tmp[0] = '\0';
	job->rc = 0;
done:
	if (in >= 0)
		close(in);
	job_done(job);
	return NULL;
}

/* An import back on the loop: check and keep what the worker copied. */
static void import_finish(struct shoald *d, struct image_import *job)
{
	if (job->rc == 0 && job->kind == IMAGE_KIND_GUEST &&
	    check_elf(d, job->out, d->cfg.guest_mem_max_mib, job->src, &job->err) < 0)
		job->rc = -1;
	if (job->rc == 0 && job->kind == IMAGE_KIND_DISK &&
	    check_disk(job->out, job->src, job->field, &job->err) < 0)
		job->rc = -1;
	if (job->rc == 0) {
		job->rc = keep(d, job->tmp, job->sha256, job->bytes, job->src, job->kind,
		               job->field, &job->err);
		job->tmp[0] = '\0';
	}
	if (job->tmp[0])
		unlink(job->tmp);
	if (job->out >= 0)
		close(job->out);
	job->fn(job->ctx, job->rc == 0 ? job->sha256 : NULL, &job->err);
}

/* On the loop: finish what the workers did, and tell whoever asked. */
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
		if (job->type == JOB_IMPORT) {
			import_finish(d, job);
		} else {
			if (job->tmp[0])
				unlink(job->tmp);
			if (job->out >= 0)
				close(job->out);
			job->copy_fn(job->ctx, job->rc == 0 ? NULL : &job->err);
		}
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
	 * dropped.  A guest's disk copy made now stays unrecorded: its next start makes it again.
	 */
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
		if (job->type == JOB_COPY)
			free(job->ctx); /* the loop is over: nobody is told */
		free(job);
	}
	ev_async_stop(d->loop, &d->imports.async);
	pthread_mutex_destroy(&d->imports.lock);
}

static int job_start(struct shoald *d, struct image_import *job, void *(*run)(void *),
                     struct sd_err *err)
{
	int r = pthread_create(&job->thread, NULL, run, job);

	if (r != 0) {
		sd_err_set(err, 503, "internal", job->field, "%s: cannot start copying %s: %s",
		           job->field, job->src, strerror(r));
		free(job);
		return -1;
	}
	d->imports.running++;
	return 0;
}

int image_import_start(struct shoald *d, const char *path, enum image_kind kind, const char *field,
                       image_import_fn fn, void *ctx, struct sd_err *err)
{
	struct image_import *job = calloc(1, sizeof(*job));

	if (!job)
		return sd_err_set(err, 500, "internal", "", "out of memory");
	snprintf(job->field, sizeof(job->field), "%s", field);
	if (strlen(path) >= sizeof(job->src)) {
		free(job);
		return sd_err_set(err, 400, "bad_value", field,
		                  "%s: the path is longer than %zu bytes", field,
		                  sizeof(job->src) - 1);
	}
	job->d = d;
	job->type = JOB_IMPORT;
	job->kind = kind;
	job->out = -1;
	snprintf(job->src, sizeof(job->src), "%s", path);
	job->fn = fn;
	job->ctx = ctx;
	return job_start(d, job, import_run, err);
}

int disk_copy_start(struct shoald *d, const char *sha256, const char *dst, const char *field,
                    disk_copy_fn fn, void *ctx, struct sd_err *err)
{
	struct image_import *job = calloc(1, sizeof(*job));

	if (!job)
		return sd_err_set(err, 500, "internal", "", "out of memory");
	job->d = d;
	job->type = JOB_COPY;
	job->out = -1;
	snprintf(job->field, sizeof(job->field), "%s", field);
	image_path(d, sha256, job->src, sizeof(job->src));
	snprintf(job->dst, sizeof(job->dst), "%s", dst);
	job->copy_fn = fn;
	job->ctx = ctx;
	return job_start(d, job, copy_run, err);
}

void disk_copy_path(const struct shoald *d, const char *guest, const char *disk, char *buf,
                    size_t len)
{
	snprintf(buf, len, "%s/disks/%s/%s.img", d->cfg.state_dir, guest, disk);
}

int image_resolve(struct shoald *d, const struct guest_spec *spec, const char *imported,
                  char sha256[65], struct sd_err *err)
{
	char path[1200], what[100], kind[16];
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
	if (store_image_kind(d->store, sha256, kind, sizeof(kind)) == 1 && !strcmp(kind, "disk")) {
		close(fd);
		return sd_err_set(err, 422, "bad_image", "image",
		                  "image %.12s is a disk image, not a guest: name it in disks",
		                  sha256);
	}
	snprintf(what, sizeof(what), "image %.12s", sha256);
	r = check_elf(d, fd, spec->memory_mib, what, err);
	close(fd);
	return r;
}

int disk_resolve(struct shoald *d, const struct guest_spec *spec, unsigned i, const char *imported,
                 char sha256[65], struct sd_err *err)
{
	const struct spec_disk *dk = &spec->disks[i];
	char field[48], path[1200], what[100], kind[16];
	int fd, r;

	snprintf(field, sizeof(field), "disks[%u].image", i);
	if (spec_is_sha256(dk->image))
		memcpy(sha256, dk->image, 65);
	else if (imported)
		memcpy(sha256, imported, 65);
	else
		return sd_err_set(err, 500, "internal", field,
		                  "%s: %s has not been copied into the store", field, dk->image);
	image_path(d, sha256, path, sizeof(path));
	r = store_image_kind(d->store, sha256, kind, sizeof(kind));
	fd = r == 1 ? open(path, O_RDONLY | O_CLOEXEC) : -1;
	if (fd < 0)
		return sd_err_set(err, 404, "no_such_image", field,
		                  "%s: there is no image %s in the image store: upload it first "
		                  "(POST /v1/images?kind=disk)",
		                  field, sha256);
	if (strcmp(kind, "disk")) {
		close(fd);
		return sd_err_set(err, 422, "bad_disk", field,
		                  "%s: image %.12s is a %s image, not a disk (upload disks with "
		                  "kind=disk)",
		                  field, sha256, kind);
	}
	snprintf(what, sizeof(what), "image %.12s", sha256);
	r = check_disk(fd, what, field, err);
	close(fd);
	return r;
}

json_t *shoald_images_json(struct shoald *d)
{
	return store_images_json(d->store);
}

struct shoald_upload *shoald_image_upload_begin(struct shoald *d, enum image_kind kind,
                                                struct sd_err *err)
{
	struct shoald_upload *u = calloc(1, sizeof(*u));

	if (!u) {
		sd_err_set(err, 500, "internal", "", "out of memory");
		return NULL;
	}
	u->d = d;
	u->kind = kind;
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
			if (shoald_no_space(errno))
				return shoald_err_no_space(err, "body", u->tmp);
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
	if (u->kind == IMAGE_KIND_GUEST &&
	    check_elf(d, u->fd, d->cfg.guest_mem_max_mib, "the uploaded image", err) < 0)
		goto out;
	if (u->kind == IMAGE_KIND_DISK && check_disk(u->fd, "the uploaded disk", "image", err) < 0)
		goto out;
	image_path(d, sha, path, sizeof(path));
	existed = access(path, F_OK) == 0;
	if (keep(d, u->tmp, sha, u->bytes, "upload", u->kind, "image", err) < 0) {
		u->tmp[0] = '\0';
		goto out;
	}
	u->tmp[0] = '\0';
	*http = existed ? 200 : 201;
	if (!existed)
		event_emit(d, "image", NULL, "%s image %s uploaded (%llu bytes)",
		           image_kind_str(u->kind), sha, (unsigned long long)u->bytes);
	j = json_pack("{s:s, s:I, s:s}", "sha256", sha, "bytes", (json_int_t)u->bytes, "kind",
	              image_kind_str(u->kind));
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
