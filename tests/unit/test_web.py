import pytest

from portal.web import safe_next_url


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.test/",
        "//evil.test",
        "/\\evil.test",
        "javascript:alert(1)",
        "",
        None,
        "home",
        "http:/evil",
    ],
)
def test_unsafe_next_urls_are_dropped(target):
    assert safe_next_url(target) is None


@pytest.mark.parametrize("target", ["/home", "/admin/users?page=2"])
def test_same_site_paths_are_kept(target):
    assert safe_next_url(target) == target
