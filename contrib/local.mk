# contrib/: the systemd unit, shoald's example configuration, shoalctl's
# bash completion and a deploy-script example, and where they install.

# The unit names the installed shoald: made from its .in with the
# configured paths (they are only final at make time).
contrib/shoald.service: $(srcdir)/contrib/shoald.service.in Makefile
	$(AM_V_GEN)$(MKDIR_P) contrib && $(SED) \
		-e 's|@sbindir[@]|$(sbindir)|g' \
		-e 's|@sysconfdir[@]|$(sysconfdir)|g' \
		-e 's|@docdir[@]|$(docdir)|g' \
		$(srcdir)/contrib/shoald.service.in > $@.tmp && mv $@.tmp $@
BUILT_SOURCES += contrib/shoald.service
CLEANFILES += contrib/shoald.service
if HAVE_SYSTEMD_UNITDIR
nodist_systemdsystemunit_DATA = contrib/shoald.service
endif

# bash-completion loads a command's completion from a file named after it.
contrib/completion/shoalctl: $(srcdir)/contrib/shoalctl.bash-completion
	$(AM_V_GEN)$(MKDIR_P) contrib/completion && cp $(srcdir)/contrib/shoalctl.bash-completion $@
BUILT_SOURCES += contrib/completion/shoalctl
CLEANFILES += contrib/completion/shoalctl
nodist_bashcompletion_DATA = contrib/completion/shoalctl

dist_doc_DATA = contrib/shoald.conf.example
examplesdir = $(docdir)/examples
dist_examples_SCRIPTS = contrib/examples/deploy-fleet.sh

EXTRA_DIST += contrib/shoald.service.in contrib/shoalctl.bash-completion
