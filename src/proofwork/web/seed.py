"""`make serve`'s first step: migrate the store, make sure the Demo organisation exists, and
print a fresh owner token with a first call to try, and a fresh password to sign in to the
pages with."""

from __future__ import annotations

import secrets

from sqlalchemy import select

from proofwork import store
from proofwork.config import load_settings
from proofwork.store.models import Organisation, Role
from proofwork.web import admin
from proofwork.web.pages.session import hash_password

ORG, OWNER = "Demo", "owner@demo.invalid"


def main() -> None:
    """Seed the embedded store and say how to call the API."""
    settings = load_settings()
    engine = store.engine_for(settings)
    store.upgrade(engine)
    with store.unit_of_work(store.session_factory(engine)) as session:
        org = session.scalar(select(Organisation).where(Organisation.name == ORG))
        if org is None:
            org = admin.create_org(session=session, name=ORG)
        user = admin.create_user(session=session, org=org, email=OWNER, role=Role.OWNER)
        password = secrets.token_urlsafe(12)
        user.password_hash = hash_password(password)
        _, secret = admin.create_token(
            session=session, org=org, role=Role.OWNER, user=user, name="make serve"
        )
    engine.dispose()
    print(f"the pages: http://127.0.0.1:8080/ (sign in as {OWNER}, password {password})")
    print(f"organisation {ORG}, owner {OWNER}; a new API token for it:\n  {secret}")
    print("try:")
    print(f"  curl -s -H 'Authorization: Bearer {secret}' http://127.0.0.1:8080/api/v1/runs")
    print(
        f"  curl -s -H 'Authorization: Bearer {secret}' -F file=@my-project.zip "
        "http://127.0.0.1:8080/api/v1/submissions"
    )


if __name__ == "__main__":
    main()
