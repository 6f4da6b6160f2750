insert into salesforce.account (name) values ('bench insert');
