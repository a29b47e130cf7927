# contrib/: the systemd unit, shoald's configuration, shoalctl's bash
# completion, the Grafana dashboard and Prometheus scrape configuration,
# PowerDNS's configuration for shoald's names, deploy scripts, and where they install.

# The unit and the configuration name the installed paths: made from
# their .in with the configured paths (they are only final at make time).
CONTRIB_SUBST = $(SED) \
	-e 's|@sbindir[@]|$(sbindir)|g' \
	-e 's|@sysconfdir[@]|$(sysconfdir)|g' \
	-e 's|@pkglibexecdir[@]|$(pkglibexecdir)|g' \
	-e 's|@pkgdatadir[@]|$(pkgdatadir)|g' \
	-e 's|@docdir[@]|$(docdir)|g'
contrib/shoald.service: $(srcdir)/contrib/shoald.service.in Makefile
	$(AM_V_GEN)$(MKDIR_P) contrib && $(CONTRIB_SUBST) $(srcdir)/contrib/shoald.service.in > $@.tmp && mv $@.tmp $@
contrib/shoald.conf: $(srcdir)/contrib/shoald.conf.in Makefile
	$(AM_V_GEN)$(MKDIR_P) contrib && $(CONTRIB_SUBST) $(srcdir)/contrib/shoald.conf.in > $@.tmp && mv $@.tmp $@
BUILT_SOURCES += contrib/shoald.service contrib/shoald.conf
CLEANFILES += contrib/shoald.service contrib/shoald.conf
if HAVE_SYSTEMD_UNITDIR
nodist_systemdsystemunit_DATA = contrib/shoald.service
endif

# bash-completion loads a command's completion from a file named after it.
contrib/completion/shoalctl: $(srcdir)/contrib/shoalctl.bash-completion
	$(AM_V_GEN)$(MKDIR_P) contrib/completion && cp $(srcdir)/contrib/shoalctl.bash-completion $@
BUILT_SOURCES += contrib/completion/shoalctl
CLEANFILES += contrib/completion/shoalctl
nodist_bashcompletion_DATA = contrib/completion/shoalctl

# The configuration: a copy among the examples, and SYSCONFDIR/shoal/
# shoald.conf only when the host has none, so that an admin's file is
# never overwritten (as dpkg keeps a changed conffile).  Uninstall removes
# it only while it is unchanged.
examplesdir = $(docdir)/examples
nodist_examples_DATA = contrib/shoald.conf
shoalconfdir = $(sysconfdir)/shoal
install-data-local: contrib/shoald.conf
	$(MKDIR_P) '$(DESTDIR)$(shoalconfdir)'
	@if test -e '$(DESTDIR)$(shoalconfdir)/shoald.conf'; then \
		echo "  KEEP     $(DESTDIR)$(shoalconfdir)/shoald.conf (exists; the new one is in $(examplesdir))"; \
	else \
		echo " $(INSTALL_DATA) contrib/shoald.conf '$(DESTDIR)$(shoalconfdir)/shoald.conf'"; \
		$(INSTALL_DATA) contrib/shoald.conf '$(DESTDIR)$(shoalconfdir)/shoald.conf'; \
	fi
uninstall-local:
	@if test -f '$(DESTDIR)$(shoalconfdir)/shoald.conf' && \
	    cmp -s contrib/shoald.conf '$(DESTDIR)$(shoalconfdir)/shoald.conf'; then \
		echo " rm -f '$(DESTDIR)$(shoalconfdir)/shoald.conf'"; \
		rm -f '$(DESTDIR)$(shoalconfdir)/shoald.conf'; \
	elif test -e '$(DESTDIR)$(shoalconfdir)/shoald.conf'; then \
		echo "  KEEP     $(DESTDIR)$(shoalconfdir)/shoald.conf (changed by the admin)"; \
	fi
	@rmdir '$(DESTDIR)$(shoalconfdir)' 2>/dev/null || :

dist_examples_SCRIPTS = contrib/examples/deploy-fleet.sh

# Deploy scripts for a CI pipeline: POSIX sh, shoalctl --json and jq.
deployexamplesdir = $(examplesdir)/deploy
dist_deployexamples_SCRIPTS = contrib/deploy/deploy.sh contrib/deploy/upload.sh contrib/deploy/wait-slo.sh
dist_deployexamples_DATA = contrib/deploy/lib.sh contrib/deploy/README.md

# Dashboards: Prometheus scrape configuration and a Grafana dashboard.
prometheusexamplesdir = $(examplesdir)/prometheus
dist_prometheusexamples_DATA = contrib/prometheus/shoal.yml contrib/prometheus/nginx-shoal-metrics.conf
# PowerDNS Authoritative with shoald as its remote backend (dns-zone).
pdnsexamplesdir = $(examplesdir)/pdns
dist_pdnsexamples_DATA = contrib/pdns/shoal.conf
grafanaexamplesdir = $(examplesdir)/grafana
dist_grafanaexamples_DATA = contrib/grafana/shoal.json

EXTRA_DIST += contrib/shoald.service.in contrib/shoald.conf.in contrib/shoalctl.bash-completion
