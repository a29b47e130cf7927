/*
 * The block API's error names, shared by every platform's front-end (the
 * ring one in blk.c, the proc platform's on descriptors).
 */
#include <shoal/blk.h>

const char *rt_blk_strerror(int err)
{
	switch (err) {
	case 0:
		return "no error";
	case RT_BLK_ENOENT:
		return "no disk of that name";
	case RT_BLK_EIO:
		return "the host failed the request";
	case RT_BLK_ENOMEM:
		return "out of memory";
	case RT_BLK_EBUSY:
		return "every ring slot is in flight";
	case RT_BLK_EINVAL:
		return "outside the disk, or a bad buffer";
	case RT_BLK_EROFS:
		return "the disk is read-only";
	case RT_BLK_EPROTO:
		return "the host would not connect the ring";
	default:
		return "unknown error";
	}
}
