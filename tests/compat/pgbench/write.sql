\set n random(1, 1000000000)
insert into salesforce.account (name) values ('pgbench ' || :n);
