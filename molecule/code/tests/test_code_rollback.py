"""After code_rollback: the good tree is checked out on the rollback branch."""


def git(host, repo, *args):
    return host.check_output("git -C %s " + " ".join(["%s"] * len(args)), repo, *args).strip()


def test_reset_puts_head_on_the_good_tag(host):
    assert git(host, "/srv/reset-app", "rev-parse", "HEAD") == \
        git(host, "/srv/reset-app", "rev-parse", "release-good^{commit}")
    assert host.file("/srv/reset-app/VERSION").content_string == "good\n"


def test_reset_happens_on_the_rollback_branch_and_main_keeps_the_bad_merge(host):
    assert git(host, "/srv/reset-app", "rev-parse", "--abbrev-ref", "HEAD") == "rollback/test-1"
    parents = git(host, "/srv/reset-app", "rev-list", "--parents", "-n", "1", "main").split()
    assert len(parents) == 3, "main should still point at the bad merge commit"


def test_revert_restores_the_good_tree_and_keeps_history(host):
    assert host.file("/srv/revert-app/settings.py").content_string == "channels = True\n"
    assert host.run("git -C /srv/revert-app diff --quiet release-good HEAD --").rc == 0
    subject = git(host, "/srv/revert-app", "log", "-1", "--format=%s")
    assert subject.startswith('Revert "Merge remove-channels"')
    assert git(host, "/srv/revert-app", "rev-parse", "--abbrev-ref", "HEAD") == "rollback/test-1"


def test_checkouts_are_clean(host):
    for repo in ("/srv/reset-app", "/srv/revert-app"):
        assert git(host, repo, "status", "--porcelain") == ""
