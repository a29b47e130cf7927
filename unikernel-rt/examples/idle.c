/*
 * idle: a stand-in for a service that is waiting for work.  It blocks for
 * ever; the runtime answers the daemon's probes underneath it.
 */
#include <shoal/rt.h>

int main(int argc, char **argv)
{
	rt_printf("idle: %s up, probe %s\n", rt_guest_name(),
	          rt_evtchn_probe_port() ? "wired" : "not wired");
	rt_run();
}
