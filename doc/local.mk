# doc/: the man pages, written in scdoc and made with the configured paths
# (shoald(8), shoald.conf(5); shoalctl(1) is made in shoalctl/local.mk),
# and the Markdown pages the README links, in the tarball and in $(docdir).
dist_doc_DATA = doc/api.md doc/guests.md doc/install.md doc/placement.md \
	doc/shoalctl.md doc/testing.md doc/xen.md

MAN_PAGES = doc/shoald.8 doc/shoald.conf.5
nodist_man_MANS += $(MAN_PAGES)
EXTRA_DIST += $(MAN_PAGES:%=%.scd)
CLEANFILES += $(MAN_PAGES)

# The same paths the unit and the installed configuration name.
DOC_SUBST = $(SED) \
	-e 's|@sbindir[@]|$(sbindir)|g' \
	-e 's|@sysconfdir[@]|$(sysconfdir)|g' \
	-e 's|@pkglibexecdir[@]|$(pkglibexecdir)|g' \
	-e 's|@pkgdatadir[@]|$(pkgdatadir)|g' \
	-e 's|@docdir[@]|$(docdir)|g' \
	-e 's|@systemdsystemunitdir[@]|$(systemdsystemunitdir)|g'

doc/shoald.8: $(srcdir)/doc/shoald.8.scd Makefile
	$(AM_V_GEN)$(MKDIR_P) doc && $(DOC_SUBST) $(srcdir)/doc/shoald.8.scd | $(SCDOC) > $@.tmp && mv $@.tmp $@
doc/shoald.conf.5: $(srcdir)/doc/shoald.conf.5.scd Makefile
	$(AM_V_GEN)$(MKDIR_P) doc && $(DOC_SUBST) $(srcdir)/doc/shoald.conf.5.scd | $(SCDOC) > $@.tmp && mv $@.tmp $@
BUILT_SOURCES += $(MAN_PAGES)
