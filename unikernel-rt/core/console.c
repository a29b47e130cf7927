/*
 * Console output: raw writes go straight to the platform's console
 * hypercall; rt_printf formats into a stack buffer first so that one line
 * costs one hypercall.
 */
#include "rt_internal.h"

void rt_console_write(const char *buf, size_t len)
{
	struct rt_iov iov = { buf, len };

	plat_console_writev(&iov, 1);
}

void rt_console_writev(const struct rt_iov *iov, unsigned n)
{
	while (n > 64) {
		plat_console_writev(iov, 64);
		iov += 64;
		n -= 64;
	}
	if (n)
		plat_console_writev(iov, n);
}

void rt_puts(const char *s)
{
	rt_console_write(s, strlen(s));
}

struct out {
	char *buf;
	size_t size; /* capacity including the NUL */
	size_t len;  /* characters that would have been written */
};

static void put(struct out *o, char c)
{
	if (o->len + 1 < o->size)
		o->buf[o->len] = c;
	o->len++;
}

static void put_num(struct out *o, uint64_t v, unsigned base, int upper, int neg, int width,
                    char padc, int left)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[24];
	int n = 0;

	do {
		tmp[n++] = digits[v % base];
		v /= base;
	} while (v);
	if (neg)
		width--;
	if (neg && padc == '0')
		put(o, '-');
	for (; !left && width > n; width--)
		put(o, padc);
	if (neg && padc != '0')
		put(o, '-');
	for (width -= n; n;)
		put(o, tmp[--n]);
	for (; left && width > 0; width--)
		put(o, ' ');
}

int rt_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct out o = { buf, size, 0 };

	for (; *fmt; fmt++) {
		int width = 0, lng = 0, left = 0;
		char padc = ' ';

		if (*fmt != '%') {
			put(&o, *fmt);
			continue;
		}
		fmt++;
		if (*fmt == '-') {
			left = 1;
			fmt++;
		}
		if (*fmt == '0' && !left) {
			padc = '0';
			fmt++;
		}
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (*fmt++ - '0');
		while (*fmt == 'l') {
			lng++;
			fmt++;
		}
		if (*fmt == 'z') {
			lng = 2;
			fmt++;
		}
		switch (*fmt) {
		case 'd':
		case 'i': {
			int64_t v = lng ? va_arg(ap, int64_t) : va_arg(ap, int);
			uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;

			put_num(&o, u, 10, 0, v < 0, width, padc, left);
			break;
		}
		case 'u':
		case 'x':
		case 'X': {
			uint64_t v = lng ? va_arg(ap, uint64_t) : va_arg(ap, unsigned);

			put_num(&o, v, *fmt == 'u' ? 10 : 16, *fmt == 'X', 0, width, padc, left);
			break;
		}
		case 'p':
			put(&o, '0');
			put(&o, 'x');
			put_num(&o, (uintptr_t)va_arg(ap, void *), 16, 0, 0, width, padc, left);
			break;
		case 's': {
			const char *s = va_arg(ap, const char *);
			int n;

			if (!s)
				s = "(null)";
			n = (int)strlen(s);
			for (; !left && width > n; width--)
				put(&o, ' ');
			while (*s)
				put(&o, *s++);
			for (; left && width > n; width--)
				put(&o, ' ');
			break;
		}
		case 'c':
			put(&o, (char)va_arg(ap, int));
			break;
		case '%':
			put(&o, '%');
			break;
		case '\0':
			fmt--;
			break;
		default:
			put(&o, '%');
			put(&o, *fmt);
			break;
		}
	}
	if (size)
		buf[o.len < size ? o.len : size - 1] = '\0';
	return (int)o.len;
}

int rt_snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = rt_vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

int rt_printf(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = rt_vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(buf) - 1)
		n = (int)sizeof(buf) - 1;
	rt_console_write(buf, (size_t)n);
	return n;
}
