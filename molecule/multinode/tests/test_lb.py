"""The lb host: out of maintenance, nginx proxies to the app host, search works."""
import json

testinfra_hosts = ["ansible://rb-mn-lb"]


def test_maintenance_is_off_and_the_site_answers_through_the_lb(host):
    assert not host.file("/var/www/maintenance/on").exists
    body = host.check_output("curl -sf http://127.0.0.1/c/general/")
    assert "General post 1" in body
    assert '"channels"' in host.check_output("curl -sf http://127.0.0.1/healthz")


def test_search_works_for_every_type_through_the_lb(host):
    for content_type in ("post", "comment", "podcast", "course"):
        body = host.check_output("curl -sf 'http://127.0.0.1/api/v0/search/?q=&type=%s'" % content_type)
        assert json.loads(body)["results"], content_type
