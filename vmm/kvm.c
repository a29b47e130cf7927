/*
 * The VM: a KVM memory slot, the in-kernel irqchip, one vCPU put straight
 * into 64-bit mode, event ports wired as irqfd/ioeventfd pairs, and the
 * run loop.  Creation and loading are split so that a tender can make the
 * shell ahead of time and load an image only when a deploy arrives.
 *
 * Choices made for speed, measured on the development hosts: the irqchip
 * is "split" (local APIC in the kernel, no PIC or IOAPIC): a full
 * in-kernel irqchip makes VM destruction take ~15 ms, and registering
 * memory after it exists takes ~7 ms; the memory slot is registered
 * first anyway.  CPUID is a fixed table rather than
 * KVM_GET_SUPPORTED_CPUID, which takes hundreds of microseconds.
 */
#include <cpuid.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "common/fail.h"
#include "vmm/vmm.h"

#define MSR_IA32_TSC 0x10

#define CR0_PE         (1u << 0)
#define CR0_MP         (1u << 1)
#define CR0_ET         (1u << 4)
#define CR0_NE         (1u << 5)
#define CR0_WP         (1u << 16)
#define CR0_PG         (1u << 31)
#define CR4_PAE        (1u << 5)
#define CR4_OSFXSR     (1u << 9)
#define CR4_OSXMMEXCPT (1u << 10)
#define EFER_SCE       (1u << 0)
#define EFER_LME       (1u << 8)
#define EFER_LMA       (1u << 10)
#define EFER_NXE       (1u << 11)
#define APIC_BASE_ADDR 0xfee00000u
#define APIC_BASE_BSP  (1u << 8)
#define APIC_BASE_EXTD (1u << 10)
#define APIC_BASE_EN   (1u << 11)

#define PTE_P  (1ull << 0)
#define PTE_W  (1ull << 1)
#define PTE_PS (1ull << 7)

#define APIC_REG_SVR         0xf0
#define APIC_REG_LVTT        0x320
#define APIC_REG_LVT0        0x350
#define APIC_REG_LVT1        0x360
#define APIC_REG_LVTERR      0x370
#define APIC_LVT_MASKED      (1u << 16)
#define APIC_LVT_TSCDEADLINE (2u << 17)

int vmm_vcpu_tid(void)
{
	return (int)syscall(SYS_gettid);
}

static void cpuid_set(struct kvm_cpuid_entry2 *e, uint32_t fn, uint32_t a, uint32_t b, uint32_t c,
                      uint32_t d)
{
	memset(e, 0, sizeof(*e));
	e->function = fn;
	e->eax = a;
	e->ebx = b;
	e->ecx = c;
	e->edx = d;
}

/*
 * A deliberately small CPU: baseline x86-64 (SSE2 and a few SSE4 bits the
 * host has), x2APIC and the TSC-deadline timer the runtime relies on, no
 * XSAVE/AVX.  Family/model and vendor are the host's.
 */
static int set_cpuid(struct vmm_vm *vm, char *err, size_t errlen)
{
	struct {
		struct kvm_cpuid2 c;
		struct kvm_cpuid_entry2 e[4];
	} t;
	unsigned a, b, c, d, vb, vc, vd, hc = 0, hd = 0;
	uint32_t ecx1, edx1;

	__cpuid(0, a, vb, vc, vd);
	__cpuid(1, a, b, hc, hd);
	ecx1 = (hc & ((1u << 0) | (1u << 9) | (1u << 13) | (1u << 19) | (1u << 20) | (1u << 23))) |
	       (1u << 21) /* x2APIC */ | (1u << 24) /* TSC deadline */ |
	       (1u << 31) /* hypervisor */;
	edx1 = (1u << 0) | (1u << 4) | (1u << 5) | (1u << 6) | (1u << 8) | (1u << 9) | (1u << 11) |
	       (1u << 13) | (1u << 15) | (1u << 16) | (1u << 19) | (1u << 23) | (1u << 24) |
	       (1u << 25) | (1u << 26);
	memset(&t, 0, sizeof(t));
	t.c.nent = 4;
	cpuid_set(&t.e[0], 0, 1, vb, vc, vd);
	cpuid_set(&t.e[1], 1, a & 0x0fff3fff, 0, ecx1, edx1);
	cpuid_set(&t.e[2], 0x80000000, 0x80000001, vb, vc, vd);
	cpuid_set(&t.e[3], 0x80000001, 0, 0, 1u /* LAHF */,
	          (1u << 11) /* SYSCALL */ | (1u << 20) /* NX */ | (1u << 29) /* LM */);
	if (ioctl(vm->vcpu_fd, KVM_SET_CPUID2, &t) < 0)
		return fail_text(err, errlen, "KVM_SET_CPUID2");
	(void)c;
	(void)d;
	return 0;
}

static void seg(struct kvm_segment *s, uint16_t sel, uint8_t type, int code)
{
	memset(s, 0, sizeof(*s));
	s->base = 0;
	s->limit = 0xffffffff;
	s->selector = sel;
	s->type = type;
	s->present = 1;
	s->s = 1;
	s->l = code;
	s->db = !code;
	s->g = 1;
}

static int set_sregs(struct vmm_vm *vm, char *err, size_t errlen)
{
	struct kvm_sregs s;
	uint64_t *gdt = (uint64_t *)(vm->mem + SHOAL_GPA_GDT);

	/*
	 * null, 64-bit code, data.  TR gets hidden state only (VMX insists on a
	 * busy TSS); the guest never loads it.
	 */
	gdt[0] = 0;
	gdt[1] = 0x00af9b000000ffffull;
	gdt[2] = 0x00cf93000000ffffull;
	if (ioctl(vm->vcpu_fd, KVM_GET_SREGS, &s) < 0)
		return fail_text(err, errlen, "KVM_GET_SREGS");
	seg(&s.cs, SHOAL_SEL_CODE, 11, 1);
	seg(&s.ds, SHOAL_SEL_DATA, 3, 0);
	s.es = s.fs = s.gs = s.ss = s.ds;
	memset(&s.tr, 0, sizeof(s.tr));
	s.tr.base = SHOAL_GPA_GDT + 0x100;
	s.tr.limit = 0x67;
	s.tr.selector = 0x18;
	s.tr.type = 11;
	s.tr.present = 1;
	s.gdt.base = SHOAL_GPA_GDT;
	s.gdt.limit = 3 * 8 - 1;
	s.idt.base = 0;
	s.idt.limit = 0;
	s.cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_PG;
	s.cr3 = SHOAL_GPA_PML4;
	s.cr4 = CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT;
	s.efer = EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE;
	s.apic_base = APIC_BASE_ADDR | APIC_BASE_BSP | APIC_BASE_EN | APIC_BASE_EXTD;
	if (ioctl(vm->vcpu_fd, KVM_SET_SREGS, &s) < 0)
		return fail_text(err, errlen, "KVM_SET_SREGS (64-bit mode)");
	return 0;
}

static void lapic_set(struct kvm_lapic_state *l, unsigned reg, uint32_t v)
{
	memcpy(&l->regs[reg], &v, sizeof(v));
}

/* x2APIC on (set with the sregs), software-enabled, timer in TSC-deadline mode. */
static int set_lapic(struct vmm_vm *vm, char *err, size_t errlen)
{
	struct kvm_lapic_state l;

	if (ioctl(vm->vcpu_fd, KVM_GET_LAPIC, &l) < 0)
		return fail_text(err, errlen, "KVM_GET_LAPIC");
	lapic_set(&l, APIC_REG_SVR, 0x100 | SHOAL_VEC_SPURIOUS);
	lapic_set(&l, APIC_REG_LVTT, SHOAL_VEC_TIMER | APIC_LVT_TSCDEADLINE);
	lapic_set(&l, APIC_REG_LVT0, APIC_LVT_MASKED);
	lapic_set(&l, APIC_REG_LVT1, APIC_LVT_MASKED);
	lapic_set(&l, APIC_REG_LVTERR, APIC_LVT_MASKED);
	if (ioctl(vm->vcpu_fd, KVM_SET_LAPIC, &l) < 0)
		return fail_text(err, errlen, "KVM_SET_LAPIC");
	return 0;
}

/* GSI p raises vector SHOAL_VEC_EVTCHN + p on the (only) CPU, as an MSI. */
static int set_routes(struct vmm_vm *vm, char *err, size_t errlen)
{
	struct {
		struct kvm_irq_routing r;
		struct kvm_irq_routing_entry e[SHOAL_EVTCHN_NPORTS];
	} rt;
	unsigned p;

	memset(&rt, 0, sizeof(rt));
	for (p = 1; p < SHOAL_EVTCHN_NPORTS; p++) {
		struct kvm_irq_routing_entry *e = &rt.e[rt.r.nr++];

		e->gsi = p;
		e->type = KVM_IRQ_ROUTING_MSI;
		e->u.msi.address_lo = APIC_BASE_ADDR;
		e->u.msi.data = SHOAL_VEC_EVTCHN + p;
	}
	if (ioctl(vm->vm_fd, KVM_SET_GSI_ROUTING, &rt) < 0)
		return fail_text(err, errlen, "KVM_SET_GSI_ROUTING");
	return 0;
}

/* ---- pause: the control thread holds the vCPU between two KVM_RUNs ---- */

#define PAUSE_KICK_NS    10000000ll   /* the kick is repeated this often, */
#define PAUSE_TIMEOUT_NS 2000000000ll /* until the vCPU parks or this passes */

/* SIGUSR1 only makes KVM_RUN return (EINTR); the loop looks at the gate. */
static void on_kick(int sig)
{
	(void)sig;
}

static int gate_init(struct vmm_gate *gt)
{
	struct sigaction sa;
	pthread_condattr_t ca;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_kick; /* no SA_RESTART: KVM_RUN must come back */
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR1, &sa, NULL) < 0 || pthread_condattr_init(&ca) != 0)
		return -1;
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_mutex_init(&gt->lock, NULL);
	pthread_cond_init(&gt->cv, &ca);
	pthread_condattr_destroy(&ca);
	return 0;
}

static long long mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

static struct timespec ns_ts(long long ns)
{
	return (struct timespec){ (time_t)(ns / 1000000000ll), (long)(ns % 1000000000ll) };
}

int vmm_vm_pause(struct vmm_vm *vm, int pause, char *err, size_t errlen)
{
	struct vmm_gate *gt = &vm->gate;
	long long end = mono_ns() + PAUSE_TIMEOUT_NS;
	int rc = 0;

	pthread_mutex_lock(&gt->lock);
	if (gt->done) {
		pthread_mutex_unlock(&gt->lock);
		errno = 0;
		return fail_text(err, errlen, "the guest has ended");
	}
	__atomic_store_n(&gt->want_pause, pause, __ATOMIC_RELEASE);
	if (!pause) {
		pthread_cond_broadcast(&gt->cv);
		pthread_mutex_unlock(&gt->lock);
		return 0;
	}
	while (!gt->parked && !gt->done) {
		struct timespec t;
		long long now = mono_ns();

		if (now >= end)
			break;
		/*
		 * immediate_exit catches a vCPU about to enter the guest, the
		 * signal one inside it.  The vCPU clears a stale immediate_exit
		 * (a pause taken back before it parked), so the kick is repeated.
		 */
		__atomic_store_n(&vm->run->immediate_exit, 1, __ATOMIC_RELEASE);
		syscall(SYS_tgkill, getpid(), vm->vcpu_tid, SIGUSR1);
		t = ns_ts(now + PAUSE_KICK_NS < end ? now + PAUSE_KICK_NS : end);
		pthread_cond_timedwait(&gt->cv, &gt->lock, &t);
	}
	if (!gt->parked) {
		__atomic_store_n(&gt->want_pause, 0, __ATOMIC_RELEASE);
		pthread_cond_broadcast(&gt->cv);
		errno = 0;
		rc = fail_text(err, errlen,
		               gt->done ? "the guest has ended"
		                        : "the vCPU did not stop within %lld ms",
		               PAUSE_TIMEOUT_NS / 1000000);
	}
	pthread_mutex_unlock(&gt->lock);
	return rc;
}

int vmm_vm_paused(struct vmm_vm *vm)
{
	int p;

	pthread_mutex_lock(&vm->gate.lock);
	p = vm->gate.parked && vm->gate.want_pause;
	pthread_mutex_unlock(&vm->gate.lock);
	return p;
}

/* The vCPU thread: wait in the gate while a pause is asked for. */
static void gate_park(struct vmm_vm *vm)
{
	struct vmm_gate *gt = &vm->gate;

	pthread_mutex_lock(&gt->lock);
	gt->parked = 1;
	pthread_cond_broadcast(&gt->cv);
	while (gt->want_pause)
		pthread_cond_wait(&gt->cv, &gt->lock);
	gt->parked = 0;
	__atomic_store_n(&vm->run->immediate_exit, 0, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&gt->lock);
}

static void gate_close(struct vmm_vm *vm)
{
	pthread_mutex_lock(&vm->gate.lock);
	vm->gate.done = 1;
	pthread_cond_broadcast(&vm->gate.cv);
	pthread_mutex_unlock(&vm->gate.lock);
}

int vmm_vm_create(struct vmm_vm *vm, uint64_t mem_max, char *err, size_t errlen)
{
	return vmm_vm_create_on(vm, -1, mem_max, err, errlen);
}

int vmm_vm_create_on(struct vmm_vm *vm, int kvm_fd, uint64_t mem_max, char *err, size_t errlen)
{
	/* Local APIC in the kernel, no PIC or IOAPIC: all our interrupts are MSIs. */
	struct kvm_enable_cap split = { .cap = KVM_CAP_SPLIT_IRQCHIP, .args = { 0 } };
	struct kvm_userspace_memory_region slot;
	int r;

	memset(vm, 0, sizeof(*vm));
	vm->kvm_fd = vm->vm_fd = vm->vcpu_fd = -1;
	vm->vcpu_tid = vmm_vcpu_tid();
	if (gate_init(&vm->gate) < 0)
		return fail_text(err, errlen, "cannot set up the vCPU's pause gate");
	errno = 0;
	if (mem_max < SHOAL_MEM_MIN_BYTES || mem_max > SHOAL_MEM_MAX_BYTES || mem_max % (2u << 20))
		return fail_text(
		    err, errlen,
		    "guest memory must be a multiple of 2 MiB between %llu MiB and %llu MiB",
		    SHOAL_MEM_MIN_BYTES >> 20, SHOAL_MEM_MAX_BYTES >> 20);
	vm->kvm_fd = kvm_fd >= 0 ? kvm_fd : open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0)
		return fail_text(err, errlen, "cannot open /dev/kvm");
	r = ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0);
	if (r != KVM_API_VERSION) {
		errno = 0;
		return fail_text(err, errlen, "/dev/kvm speaks API version %d, not %d", r,
		                 KVM_API_VERSION);
	}
	if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IRQFD) <= 0 ||
	    ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IOEVENTFD) <= 0 ||
	    ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IRQ_ROUTING) <= 0 ||
	    ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SPLIT_IRQCHIP) <= 0) {
		errno = 0;
		return fail_text(err, errlen,
		                 "KVM lacks irqfd, ioeventfd, IRQ routing or a split irqchip");
	}
	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0)
		return fail_text(err, errlen, "KVM_CREATE_VM");

	vm->mem = mmap(NULL, mem_max, PROT_READ | PROT_WRITE,
	               MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (vm->mem == MAP_FAILED) {
		vm->mem = NULL;
		return fail_text(err, errlen, "cannot map %llu MiB of guest memory",
		                 (unsigned long long)(mem_max >> 20));
	}
	vm->mem_max = mem_max;
	memset(&slot, 0, sizeof(slot));
	slot.memory_size = mem_max;
	slot.userspace_addr = (uint64_t)(uintptr_t)vm->mem;
	if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &slot) < 0)
		return fail_text(err, errlen, "KVM_SET_USER_MEMORY_REGION");
	if (ioctl(vm->vm_fd, KVM_ENABLE_CAP, &split) < 0)
		return fail_text(err, errlen, "KVM_ENABLE_CAP(KVM_CAP_SPLIT_IRQCHIP)");

	vm->vcpu_fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, 0);
	if (vm->vcpu_fd < 0)
		return fail_text(err, errlen, "KVM_CREATE_VCPU");
	r = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (r <= 0)
		return fail_text(err, errlen, "KVM_GET_VCPU_MMAP_SIZE");
	vm->run_size = (size_t)r;
	vm->run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vm->vcpu_fd, 0);
	if (vm->run == MAP_FAILED) {
		vm->run = NULL;
		return fail_text(err, errlen, "cannot map the vCPU's run structure");
	}
	r = ioctl(vm->vcpu_fd, KVM_GET_TSC_KHZ, 0);
	if (r <= 0)
		return fail_text(err, errlen, "KVM_GET_TSC_KHZ");
	vm->tsc_hz = (uint64_t)r * 1000;

	if (set_cpuid(vm, err, errlen) < 0 || set_sregs(vm, err, errlen) < 0 ||
	    set_lapic(vm, err, errlen) < 0 || set_routes(vm, err, errlen) < 0)
		return -1;
	return 0;
}

/* The irqfd and the ioeventfd of a port; the caller records it. */
static int wire(struct vmm_vm *vm, unsigned port, int kick_fd, int notify_fd, char *err,
                size_t errlen)
{
	errno = 0;
	if (port == 0 || port >= SHOAL_EVTCHN_NPORTS)
		return fail_text(err, errlen, "event port %u is outside 1..%u", port,
		                 SHOAL_EVTCHN_NPORTS - 1);
	if ((vm->internal_ports >> port) & 1)
		return fail_text(err, errlen, "event port %u wired twice", port);
	for (unsigned i = 0; i < vm->nports; i++)
		if (vm->ports[i].port == port)
			return fail_text(err, errlen, "event port %u wired twice", port);
	if (kick_fd >= 0) {
		struct kvm_irqfd irqfd;

		memset(&irqfd, 0, sizeof(irqfd));
		irqfd.fd = (uint32_t)kick_fd;
		irqfd.gsi = port;
		if (ioctl(vm->vm_fd, KVM_IRQFD, &irqfd) < 0)
			return fail_text(err, errlen, "event port %u: KVM_IRQFD on fd %d", port,
			                 kick_fd);
	}
	if (notify_fd >= 0) {
		struct kvm_ioeventfd io;

		memset(&io, 0, sizeof(io));
		io.datamatch = port;
		io.addr = SHOAL_IO_NOTIFY;
		io.len = 4;
		io.fd = notify_fd;
		io.flags = KVM_IOEVENTFD_FLAG_DATAMATCH | KVM_IOEVENTFD_FLAG_PIO;
		if (ioctl(vm->vm_fd, KVM_IOEVENTFD, &io) < 0)
			return fail_text(err, errlen, "event port %u: KVM_IOEVENTFD on fd %d", port,
			                 notify_fd);
	}
	return 0;
}

int vmm_vm_wire_port(struct vmm_vm *vm, unsigned port, int kick_fd, int notify_fd, char *err,
                     size_t errlen)
{
	struct vmm_port *p;

	if (vm->nports == VMM_PORTS_MAX) {
		errno = 0;
		return fail_text(err, errlen, "more than %u event ports", VMM_PORTS_MAX);
	}
	if (wire(vm, port, kick_fd, notify_fd, err, errlen) < 0)
		return -1;
	p = &vm->ports[vm->nports++];
	p->port = port;
	p->kick_fd = kick_fd;
	p->notify_fd = notify_fd;
	return 0;
}

int vmm_vm_wire_internal(struct vmm_vm *vm, unsigned port, int kick_fd, int notify_fd, char *err,
                         size_t errlen)
{
	if (wire(vm, port, kick_fd, notify_fd, err, errlen) < 0)
		return -1;
	vm->internal_ports |= 1ull << port;
	return 0;
}

void vmm_vm_fail(struct vmm_vm *vm, const char *reason)
{
	int was = 0;

	if (!__atomic_compare_exchange_n(&vm->io_fatal, &was, -1, 0, __ATOMIC_ACQ_REL,
	                                 __ATOMIC_ACQUIRE))
		return;
	snprintf(vm->io_reason, sizeof(vm->io_reason), "%s", reason);
	__atomic_store_n(&vm->io_fatal, 1, __ATOMIC_RELEASE);
	/* As a pause does: catch the vCPU before KVM_RUN, or inside it. */
	__atomic_store_n(&vm->run->immediate_exit, 1, __ATOMIC_RELEASE);
	syscall(SYS_tgkill, getpid(), vm->vcpu_tid, SIGUSR1);
}

/*
 * Identity map [0, mem_bytes): 2 MiB pages, except the first 2 MiB which
 * get 4 KiB pages so that page 0 can stay unmapped.
 */
static void build_page_tables(struct vmm_vm *vm, uint64_t mem_bytes)
{
	uint64_t *pml4 = (uint64_t *)(vm->mem + SHOAL_GPA_PML4);
	uint64_t *pdpt = (uint64_t *)(vm->mem + SHOAL_GPA_PDPT);
	uint64_t *pd = (uint64_t *)(vm->mem + SHOAL_GPA_PD);
	uint64_t *pt0 = (uint64_t *)(vm->mem + SHOAL_GPA_PT0);
	uint64_t i, n2m = mem_bytes >> 21;

	pml4[0] = SHOAL_GPA_PDPT | PTE_P | PTE_W;
	for (i = 0; i < (n2m + 511) / 512; i++)
		pdpt[i] = (SHOAL_GPA_PD + i * SHOAL_PAGE_SIZE) | PTE_P | PTE_W;
	pd[0] = SHOAL_GPA_PT0 | PTE_P | PTE_W;
	for (i = 1; i < 512; i++)
		pt0[i] = (i << 12) | PTE_P | PTE_W;
	for (i = 1; i < n2m; i++)
		pd[i] = (i << 21) | PTE_P | PTE_W | PTE_PS;
}

/* argv arrays and strings at SHOAL_GPA_ARGS: char *argv[argc+1], uint64_t len[argc], strings. */
static int place_args(struct vmm_vm *vm, int argc, char *const argv[], uint64_t *argv_gpa,
                      uint64_t *arglen_gpa, char *err, size_t errlen)
{
	uint64_t ptrs = SHOAL_GPA_ARGS;
	uint64_t lens = ptrs + 8 * ((uint64_t)argc + 1);
	uint64_t str = lens + 8 * (uint64_t)argc;
	uint64_t end = SHOAL_GPA_ARGS + SHOAL_ARGS_MAX_BYTES;
	int i;

	errno = 0;
	if (argc < 1 || argc > 4096 || str > end)
		return fail_text(err, errlen, "too many arguments (%d)", argc);
	for (i = 0; i < argc; i++) {
		size_t n = strlen(argv[i]);
		uint64_t gpa_ptr = str, len = n;

		if (n + 1 > end - str)
			return fail_text(err, errlen, "arguments are longer than %llu bytes in all",
			                 (unsigned long long)SHOAL_ARGS_MAX_BYTES);
		memcpy(vm->mem + str, argv[i], n + 1);
		memcpy(vm->mem + ptrs + 8 * (uint64_t)i, &gpa_ptr, 8);
		memcpy(vm->mem + lens + 8 * (uint64_t)i, &len, 8);
		str += n + 1;
	}
	memset(vm->mem + ptrs + 8 * (uint64_t)argc, 0, 8);
	*argv_gpa = ptrs;
	*arglen_gpa = lens;
	return 0;
}

static uint64_t guest_tsc(struct vmm_vm *vm)
{
	struct {
		struct kvm_msrs m;
		struct kvm_msr_entry e;
	} t;

	memset(&t, 0, sizeof(t));
	t.m.nmsrs = 1;
	t.e.index = MSR_IA32_TSC;
	if (ioctl(vm->vcpu_fd, KVM_GET_MSRS, &t) != 1)
		return 0;
	return t.e.data;
}

int vmm_vm_load(struct vmm_vm *vm, const uint8_t *img, uint64_t len, uint64_t mem_bytes, int argc,
                char *const argv[], int *status, char *err, size_t errlen)
{
	struct shoal_boot_info *bi = (struct shoal_boot_info *)(vm->mem + SHOAL_GPA_BOOT_INFO);
	struct image_elf elf;
	struct kvm_regs regs;
	struct timespec ts;
	uint64_t argv_gpa = 0, arglen_gpa = 0;
	unsigned i;

	*status = GUEST_EXIT_USAGE;
	errno = 0;
	if (mem_bytes == 0)
		mem_bytes = vm->mem_max;
	if (mem_bytes < SHOAL_MEM_MIN_BYTES || mem_bytes > vm->mem_max || mem_bytes % (2u << 20))
		return fail_text(
		    err, errlen,
		    "guest memory %llu MiB: must be a multiple of 2 MiB between %llu and %llu MiB",
		    (unsigned long long)(mem_bytes >> 20), SHOAL_MEM_MIN_BYTES >> 20,
		    (unsigned long long)(vm->mem_max >> 20));
	*status = GUEST_EXIT_IMAGE;
	if (len > IMAGE_MAX_BYTES)
		return fail_text(err, errlen, "image is %llu MiB, larger than %llu MiB",
		                 (unsigned long long)(len >> 20), IMAGE_MAX_BYTES >> 20);
	if (image_check(img, len, mem_bytes, SHOAL_PLATFORM_KVM, &elf, err, errlen) < 0)
		return -1;
	*status = GUEST_EXIT_USAGE;
	if (place_args(vm, argc, argv, &argv_gpa, &arglen_gpa, err, errlen) < 0)
		return -1;

	/* Fresh anonymous memory is zero, so only file bytes are copied. */
	for (i = 0; i < elf.nseg; i++)
		memcpy(vm->mem + elf.seg[i].gpa, img + elf.seg[i].offset, elf.seg[i].filesz);
	build_page_tables(vm, mem_bytes);
	vm->mem_bytes = mem_bytes;

	memset(bi, 0, sizeof(*bi));
	bi->magic = SHOAL_BOOT_MAGIC;
	bi->abi_version = SHOAL_ABI_VERSION;
	bi->platform = SHOAL_PLATFORM_KVM;
	bi->mem_bytes = mem_bytes;
	bi->heap_start = elf.heap_start;
	bi->heap_end = elf.heap_end;
	bi->stack_top = mem_bytes;
	bi->tsc_hz = vm->tsc_hz;
	bi->tsc_to_ns_mul = (uint64_t)(((unsigned __int128)1000000000u << 32) / vm->tsc_hz);
	bi->ns_to_tsc_mul = (uint64_t)(((unsigned __int128)vm->tsc_hz << 32) / 1000000000u);
	bi->shared = SHOAL_GPA_SHARED;
	bi->argv = argv_gpa;
	bi->arglen = arglen_gpa;
	bi->argc = (uint32_t)argc;
	for (i = 0; i < vm->nports; i++) {
		bi->ports_bound |= 1ull << vm->ports[i].port;
		if (vm->ports[i].port == SHOAL_PORT_PROBE)
			bi->probe_port = SHOAL_PORT_PROBE;
	}
	snprintf(bi->name, sizeof(bi->name), "%s", argv[0]);
	if (vm->devs) {
		struct shoal_device *table = (struct shoal_device *)(vm->mem + SHOAL_GPA_DEVICES);

		vmm_devs_table(vm->devs, table, &bi->ndevices);
		bi->devices = SHOAL_GPA_DEVICES;
		for (uint32_t d = 0; d < bi->ndevices; d++)
			bi->ports_bound |= 1ull << table[d].port;
	}

	memset(&regs, 0, sizeof(regs));
	regs.rip = elf.entry;
	regs.rsp = mem_bytes - 8;
	regs.rdi = SHOAL_GPA_BOOT_INFO;
	regs.rflags = 0x2;
	if (ioctl(vm->vcpu_fd, KVM_SET_REGS, &regs) < 0) {
		*status = GUEST_EXIT_SETUP;
		return fail_text(err, errlen, "KVM_SET_REGS");
	}
	bi->boot_tsc = guest_tsc(vm);
	clock_gettime(CLOCK_REALTIME, &ts);
	bi->boot_wall_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	vm->entry = elf.entry;
	vm->image_bytes = len;
	vm->boot_wall_ns = bi->boot_wall_ns;
	*status = 0;
	return 0;
}

static int stop_with(struct vmm_hc_result *res, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int stop_with(struct vmm_hc_result *res, int status, const char *fmt, ...)
{
	va_list ap;

	res->status = status;
	va_start(ap, fmt);
	vsnprintf(res->reason, sizeof(res->reason), fmt, ap);
	va_end(ap);
	return status;
}

static uint64_t guest_rip(struct vmm_vm *vm)
{
	struct kvm_regs regs;

	if (ioctl(vm->vcpu_fd, KVM_GET_REGS, &regs) < 0)
		return 0;
	return regs.rip;
}

static int run_loop(struct vmm_vm *vm, const struct vmm_console_sink *console,
                    struct vmm_hc_result *res)
{
	struct vmm_guestmem gm = { vm->mem, vm->mem_bytes };
	struct kvm_run *run = vm->run;

	for (;;) {
		if (__atomic_load_n(&vm->io_fatal, __ATOMIC_ACQUIRE) == 1)
			return stop_with(res, GUEST_EXIT_BADCALL, "%s", vm->io_reason);
		if (__atomic_load_n(&vm->gate.want_pause, __ATOMIC_ACQUIRE))
			gate_park(vm);
		if (ioctl(vm->vcpu_fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR &&
			    !__atomic_load_n(&vm->gate.want_pause, __ATOMIC_ACQUIRE) &&
			    !__atomic_load_n(&vm->io_fatal, __ATOMIC_ACQUIRE))
				__atomic_store_n(&run->immediate_exit, 0, __ATOMIC_RELEASE);
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return stop_with(res, GUEST_EXIT_INTERNAL, "KVM_RUN failed: %s",
			                 strerror(errno));
		}
		switch (run->exit_reason) {
		case KVM_EXIT_IO: {
			uint16_t port = run->io.port;
			uint32_t data;

			if (run->io.direction != KVM_EXIT_IO_OUT || run->io.size != 4 ||
			    run->io.count != 1)
				return stop_with(res, GUEST_EXIT_BADCALL,
				                 "bad hypercall: %s of %u byte(s) on I/O port 0x%x "
				                 "(hypercalls are 32-bit OUTs)",
				                 run->io.direction == KVM_EXIT_IO_OUT ? "OUT"
				                                                      : "IN",
				                 run->io.size, port);
			memcpy(&data, (uint8_t *)run + run->io.data_offset, 4);
			if (port == SHOAL_IO_NOTIFY) {
				/* A notify on a port nobody listens to: dropped, as Xen does. */
				vm->unbound_notifies++;
				break;
			}
			if (port < SHOAL_IO_HYPERCALL || port > SHOAL_IO_HYPERCALL + 0xff)
				return stop_with(res, GUEST_EXIT_BADCALL,
				                 "bad hypercall: OUT to I/O port 0x%x, which is "
				                 "not a shoal port",
				                 port);
			if (port - SHOAL_IO_HYPERCALL == SHOAL_HC_DEVICE) {
				if (vmm_devs_connect(vm->devs, &gm, data, res) == VMM_HC_STOP)
					return res->status;
				break;
			}
			if (vmm_hypercall(&gm, port - SHOAL_IO_HYPERCALL, data, console, res) ==
			    VMM_HC_STOP)
				return res->status;
			break;
		}
		case KVM_EXIT_MMIO:
			return stop_with(
			    res, GUEST_EXIT_FAULT,
			    "guest fault: %s unmapped physical address 0x%llx at rip 0x%llx",
			    run->mmio.is_write ? "write to" : "read from",
			    (unsigned long long)run->mmio.phys_addr,
			    (unsigned long long)guest_rip(vm));
		case KVM_EXIT_SHUTDOWN:
			return stop_with(res, GUEST_EXIT_FAULT,
			                 "guest fault: triple fault (the guest could not handle an "
			                 "exception) at rip 0x%llx",
			                 (unsigned long long)guest_rip(vm));
		case KVM_EXIT_HLT:
			return stop_with(res, GUEST_EXIT_FAULT,
			                 "guest halted for ever at rip 0x%llx",
			                 (unsigned long long)guest_rip(vm));
		case KVM_EXIT_INTERNAL_ERROR:
			return stop_with(res, GUEST_EXIT_FAULT,
			                 "guest fault: KVM could not emulate an instruction "
			                 "(internal error %u) at rip 0x%llx",
			                 run->internal.suberror, (unsigned long long)guest_rip(vm));
		case KVM_EXIT_FAIL_ENTRY:
			return stop_with(
			    res, GUEST_EXIT_INTERNAL,
			    "KVM refused to enter the guest (reason 0x%llx)",
			    (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		case KVM_EXIT_INTR:
			break;
		default:
			return stop_with(res, GUEST_EXIT_INTERNAL, "unexpected KVM exit %u",
			                 run->exit_reason);
		}
	}
}

int vmm_vm_run(struct vmm_vm *vm, const struct vmm_console_sink *console, struct vmm_hc_result *res)
{
	int status;

	vm->vcpu_tid = vmm_vcpu_tid();
	status = run_loop(vm, console, res);
	gate_close(vm);
	return status;
}
