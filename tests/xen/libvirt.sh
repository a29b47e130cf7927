#!/bin/sh
# make check's libvirt set (tests/xen/run.sh libvirt): shoald with
# backend = libvirt on libvirtd's Xen driver, in a boot of its own.
SHOAL_XEN_SET=libvirt exec "${top_srcdir:-.}/tests/xen/smoke.sh"
