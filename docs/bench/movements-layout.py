#!/usr/bin/env python3
"""The cost of the movements layout alone: 100,000 rows (1,000 a transaction, WAL, synchronous=FULL, 2 KiB pages)
into a thin table with a unique transaction id, then into the `movements` table with its indexes, dropping
one index or column at a time (e.g. `-cust` drops the by-customer index). Standard-library Python.

usage: movements-layout.py [VARIANT…]   VARIANT: all | -cust | -tenant | -ledger | -entry | -ledger-entry | …
"""
import sqlite3, tempfile, os, time, json, shutil, sys
N=100000; POP=20000
def run(name, schema, rowf, sql):
    d=tempfile.mkdtemp(); con=sqlite3.connect(os.path.join(d,"x.db"), isolation_level=None)
    con.execute("pragma page_size=2048"); con.execute("pragma journal_mode=wal"); con.execute("pragma synchronous=FULL")
    for s in schema: con.execute(s)
    rows=[rowf(i) for i in range(N)]
    t=time.perf_counter()
    for k in range(0,N,1000):
        con.execute("begin")
        con.executemany(sql, rows[k:k+1000]); con.execute("commit")
    dt=time.perf_counter()-t
    con.close(); shutil.rmtree(d)
    print(f"{name:40s} {N/dt:8.0f} rows/s")
thin=["create table t(id integer primary key, tenant int, customer text, txid text, points int, at text, unique(tenant, txid))"]
run("thin", thin, lambda i:(f"p{i%POP:08d}", f"tx{i:09d}", 99, "2025-03-14T10:00:00Z"), "insert into t(tenant, customer, txid, points, at) values(1,?,?,?,?)")
mv="""CREATE TABLE movements (id INTEGER PRIMARY KEY, tenant_id INTEGER NOT NULL, gameball_id INTEGER NOT NULL, kind TEXT NOT NULL,
 transaction_id TEXT, hold_reference TEXT, points INTEGER NOT NULL, amount TEXT, transaction_time INTEGER NOT NULL, entry TEXT NOT NULL,
 created_at INTEGER NOT NULL, job_id INTEGER, item_index INTEGER, order_id TEXT, reverses TEXT, ledger TEXT)"""
idx={"txid":"CREATE UNIQUE INDEX m_tx ON movements (tenant_id, transaction_id) WHERE transaction_id IS NOT NULL",
 "cust":"CREATE INDEX m_c ON movements (gameball_id, id)",
 "tenant":"CREATE INDEX m_t ON movements (tenant_id, id)",
 "hold":"CREATE INDEX m_h ON movements (tenant_id, hold_reference) WHERE hold_reference IS NOT NULL",
 "order":"CREATE INDEX m_o ON movements (tenant_id, order_id) WHERE order_id IS NOT NULL",
 "rev":"CREATE INDEX m_r ON movements (tenant_id, reverses) WHERE reverses IS NOT NULL"}
entry='{"op":"credit","points":99,"availableAt":1741946400000,"debtPaid":0}'
def ledger(i):
    n=i//POP+1
    return json.dumps({"lots":[[j*POP+i%POP+1,99,1741946400000] for j in range(n)],"earned":99*n}, separators=(",",":"))
ins="insert into movements values(?,1,?,'cashback',?,NULL,99,'99.5',1741946400000,?,1741946400000,7,?,NULL,NULL,?)"
full=lambda i:(i+1, i%POP+1, f"tx{i:09d}", entry, i%1000, ledger(i))
which=sys.argv[1:] or ["all","-cust","-tenant","-ledger","-entry","-ledger-entry","-cust-ledger"]
for w in which:
    drop=[x for x in w.split("-")[1:]]
    sch=[mv]+[v for k,v in idx.items() if k not in drop]
    rowf=lambda i:(i+1, i%POP+1, f"tx{i:09d}", "" if "entry" in drop else entry, i%1000, None if "ledger" in drop else ledger(i))
    run(w, sch, rowf, ins)
