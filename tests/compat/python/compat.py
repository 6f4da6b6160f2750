"""psycopg2 and psycopg 3 (Debian packages) through the Sequin proxy. Prints "N passed, N failed"."""
import json
import os
import time
import traceback
import urllib.request
import uuid

import psycopg
import psycopg2
import psycopg2.extensions

PROXY = dict(host=os.environ["PGHOST"], port=int(os.environ["PGPORT"]), user=os.environ["PGUSER"],
             password=os.environ["PGPASSWORD"], dbname=os.environ["PGDATABASE"])
DIRECT = dict(PROXY, port=int(os.environ["DIRECT_PORT"]), user=os.environ["DIRECT_USER"], password=os.environ["DIRECT_PASSWORD"])
results = {"passed": 0, "failed": 0}


def upstream(obj):
    with urllib.request.urlopen(f"{os.environ['UPSTREAM_URL']}/upstream/{obj}") as r:
        return json.load(r)


def direct_scalar(sql, params=()):
    with psycopg2.connect(**DIRECT) as c, c.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchone()[0]


def case(fn):
    try:
        fn()
        results["passed"] += 1
        print(f"ok - {fn.__name__}")
    except Exception:  # noqa: BLE001 — report every failure and continue
        results["failed"] += 1
        print(f"not ok - {fn.__name__}")
        print("# " + traceback.format_exc().replace("\n", "\n# "))
    return fn


def eventually(check, seconds=15):
    """Waits until the database agrees with the upstream: a ROLLBACK leaves the upstream's change to the next sync
    poll (docs/proxy.md, "Transactions")."""
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.25)
    return True


def stays(check, seconds=3):
    """Holds now and for the next seconds: the sync keeps polling alongside the proxy, and a record it read just
    before a delete through the proxy must not come back (the delete's tombstone, docs/proxy.md)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not check():
            return False
        time.sleep(0.1)
    return True


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


# ------------------------------------------------------------------ psycopg2 (client-side binding, simple protocol)
@case
def psycopg2_read_and_tls():
    with psycopg2.connect(**PROXY, sslmode="require") as c, c.cursor() as cur:
        cur.execute("select current_user, %s::int + 1", (41,))
        assert cur.fetchone() == (os.environ["BACKEND_ROLE"], 42)


@case
def psycopg2_insert_changed_ids_and_agreement():
    email = f"{unique('leto')}@caladan.io"
    c = psycopg2.connect(**PROXY)
    c.autocommit = True
    cur = c.cursor()
    cur.execute("insert into salesforce.contact (last_name, email) values (%s, %s)", ("Leto", email))
    assert cur.statusmessage == "INSERT 0 1", cur.statusmessage
    assert cur.description[0].name == "changed_ids"
    (new_id,) = cur.fetchone()
    assert new_id.startswith("003") and len(new_id) == 18
    assert direct_scalar("select email from salesforce.contact where id = %s", (new_id,)) == email
    assert upstream("Contact")[new_id]["Email"] == email
    cur.execute("update salesforce.contact set title = %s where id = %s returning title", ("Duke", new_id))
    assert cur.fetchone() == ("Duke",)
    assert upstream("Contact")[new_id]["Title"] == "Duke"
    c.close()


@case
def psycopg2_rejected_write():
    c = psycopg2.connect(**PROXY)
    cur = c.cursor()
    try:
        cur.execute("insert into salesforce.contact (last_name, email) values (%s, %s)", ("Dune", "pauldune.co"))
        raise AssertionError("expected an error")
    except psycopg2.errors.CheckViolation as e:
        assert e.pgcode == "23514"
        assert e.pgerror.startswith("ERROR:  [Salesforce] validation error")
        assert e.diag.message_detail == "Key (email)=(pauldune.co) is not a valid email address."
        assert e.diag.column_name == "email" and e.diag.table_name == "contact" and e.diag.schema_name == "salesforce"
    # psycopg2 opened a transaction: it is aborted now, as after any error
    assert c.get_transaction_status() == psycopg2.extensions.TRANSACTION_STATUS_INERROR
    c.rollback()
    cur.execute("select 1")
    assert cur.fetchone() == (1,)
    c.close()


@case
def psycopg2_transaction_commit_and_rollback_warning():
    name = unique("Corrino")
    c = psycopg2.connect(**PROXY)
    cur = c.cursor()
    cur.execute("insert into salesforce.account (name) values (%s) returning id", (name,))
    (acc_id,) = cur.fetchone()
    c.commit()
    assert direct_scalar("select name from salesforce.account where id = %s", (acc_id,)) == name
    cur.execute("delete from salesforce.account where id = %s", (acc_id,))
    c.rollback()
    assert any("ROLLBACK did not undo" in n for n in c.notices), c.notices
    assert acc_id not in upstream("Account")
    c.close()


# ------------------------------------------------------------------ psycopg 3 (server-side binding, extended protocol)
@case
def psycopg3_prepared_reads():
    with psycopg.connect(**PROXY, prepare_threshold=1) as c:
        for i in range(6):
            assert c.execute("select %s::int * 3", (i,)).fetchone() == (i * 3,)


@case
def psycopg3_insert_returning_update_delete():
    email = f"{unique('alia')}@arrakis.io"
    with psycopg.connect(**PROXY, autocommit=True) as c:
        cur = c.execute("insert into salesforce.contact (last_name, email) values (%s, %s) returning id", ("Alia", email))
        (new_id,) = cur.fetchone()
        assert new_id.startswith("003")
        assert upstream("Contact")[new_id]["Email"] == email
        cur = c.execute("update salesforce.contact set title = %s where id = %s", ("Regent", new_id))
        assert cur.rowcount == 1 and cur.statusmessage == "UPDATE 1"
        assert upstream("Contact")[new_id]["Title"] == "Regent"
        cur = c.execute("delete from salesforce.contact where id = %s", (new_id,))
        assert cur.rowcount == 1
        assert new_id not in upstream("Contact")
        assert stays(lambda: direct_scalar("select count(*) from salesforce.contact where id = %s", (new_id,)) == 0)


@case
def psycopg3_rejected_write():
    with psycopg.connect(**PROXY, autocommit=True) as c:
        try:
            c.execute("insert into salesforce.contact (last_name, email) values (%s, %s)", ("X", "nope"))
            raise AssertionError("expected an error")
        except psycopg.errors.CheckViolation as e:
            assert e.sqlstate == "23514"
            assert e.diag.column_name == "email"
        assert c.execute("select 1").fetchone() == (1,)


@case
def psycopg3_transaction_and_pipeline():
    name = unique("Ecaz")
    with psycopg.connect(**PROXY) as c:
        with c.transaction():
            c.execute("insert into salesforce.account (name) values (%s)", (name,))
            c.execute("update salesforce.account set name = %s where name = %s", (name + "-2", name))
        with c.pipeline():
            cur1 = c.execute("select count(*) from salesforce.account where name = %s", (name + "-2",))
            cur2 = c.execute("select 2")
        assert cur1.fetchone() == (1,) and cur2.fetchone() == (2,)
    assert sum(1 for r in upstream("Account").values() if r.get("Name") == name + "-2") == 1


@case
def database_and_upstream_agree_on_contacts():
    assert eventually(lambda: direct_scalar("select count(*) from salesforce.contact") == len(upstream("Contact")))


print(f"{results['passed']} passed, {results['failed']} failed")
raise SystemExit(1 if results["failed"] else 0)
