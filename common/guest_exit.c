/*
 * Names of the guest exit statuses (see guest_exit.h).
 */
#include "common/guest_exit.h"

const char *guest_exit_str(int status)
{
	switch (status) {
	case GUEST_EXIT_ABORT:
		return "guest aborted";
	case GUEST_EXIT_FAULT:
		return "guest fault";
	case GUEST_EXIT_BADCALL:
		return "bad hypercall";
	case GUEST_EXIT_IMAGE:
		return "image refused";
	case GUEST_EXIT_SETUP:
		return "VM setup failed";
	case GUEST_EXIT_USAGE:
		return "usage error";
	case GUEST_EXIT_INTERNAL:
		return "tender internal error";
	case GUEST_EXIT_SIGNAL:
		return "tender told to end by a signal";
	default:
		return status >= 0 && status <= GUEST_EXIT_GUEST_MAX ? "guest exit"
		                                                     : "unknown status";
	}
}
