"""The scratch and kept database names, computed in one place for every role."""
import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.runbooks.rollback.plugins.filter.db_names import rollback_db_names


def test_names_follow_the_database_and_the_rollback_id():
    assert rollback_db_names("open_discussions", "20261124T1100") == {
        "scratch": "open_discussions_rollback_20261124T1100",
        "kept": "open_discussions_pre_rollback_20261124T1100",
    }


def test_characters_postgresql_would_need_quoted_become_underscores():
    assert rollback_db_names("app", "R-2.x")["kept"] == "app_pre_rollback_R_2_x"


@pytest.mark.parametrize("db_name", ["", "open-discussions", "1db", "db; DROP", None])
def test_a_database_name_that_is_not_a_plain_identifier_is_refused(db_name):
    with pytest.raises(AnsibleFilterError, match="plain identifier"):
        rollback_db_names(db_name, "R1")


def test_an_empty_rollback_id_is_refused():
    with pytest.raises(AnsibleFilterError, match="rollback id is empty"):
        rollback_db_names("app", "")


def test_a_name_postgresql_would_truncate_is_refused():
    with pytest.raises(AnsibleFilterError, match="longer than PostgreSQL's 63 characters"):
        rollback_db_names("open_discussions", "x" * 40)
    # 63 exactly is kept.
    db = "d" * (63 - len("_pre_rollback_R"))
    assert len(rollback_db_names(db, "R")["kept"]) == 63


def test_errors_return_gives_the_reason_instead_of_failing_the_template():
    assert list(rollback_db_names("open-discussions", "R1", errors="return")) == ["error"]
    assert "plain identifier" in rollback_db_names("open-discussions", "R1", errors="return")["error"]
    assert "longer than PostgreSQL's" in rollback_db_names("open_discussions", "x" * 40, errors="return")["error"]
    assert rollback_db_names("app", "R1", errors="return")["kept"] == "app_pre_rollback_R1"
