"""Imported by Python at start-up when this directory is on PYTHONPATH: the e2e tests put it there
for the moto_server they start (tests/e2e/tests/common/mod.rs, `moto()`).

moto's DynamoDB is linear in the size of the table where DynamoDB is not, which makes a table of a
few thousand items (a week of a dealership) take ten minutes on moto:

- TransactWriteItems backs up every table it writes by deep-copying the whole table, once per
  operation of the transaction, to restore it when the transaction is cancelled;
- a Query on the table's own key sorts every item of the table to find the partition's.

Here, without changing what any request answers or stores:

- the backup copies only the partitions (hash keys) the transaction writes, deeply, and shares the
  untouched ones, which no operation of the transaction changes; a cancelled transaction restores
  exactly what it restored before (a table with a stream is still copied whole);
- a Query on the table's own key looks at its partition only; the result, its order and its
  paging are the same, since the partition's items are the ones the full sort kept.
"""

import copy as _copy
import inspect as _inspect
import sys as _sys
from collections import defaultdict as _defaultdict

try:
    from moto.dynamodb import models as _models
    from moto.dynamodb.models.dynamo_type import DynamoType as _DynamoType
    from moto.dynamodb.models.table import Table as _Table
except Exception as error:  # moto missing or reorganised: run unpatched, say so in its log
    print(f"e2e sitecustomize: moto not patched: {error}", file=_sys.stderr)
else:

    def _written_partitions(transact_items):
        """Table name -> hash key values the transaction writes, or None if one is unknown."""
        written = {}
        for entry in transact_items:
            try:
                _, op = next(iter(entry.items()))
                name = op["TableName"]
                key = op["Item"] if "Item" in op else op["Key"]
                written.setdefault(name, []).append(key)
            except Exception:
                return None
        return written

    class _PartitionBackup:
        """The `copy` module as moto's DynamoDB backend sees it during one transaction."""

        def __init__(self, written):
            self._written = written
            self._tables = {}

        def _backup(self, table):
            keys = None
            if self._written is not None:
                keys = self._written.get(table.name)
            if keys is None or getattr(table, "stream_shard", None) is not None:
                return _copy.deepcopy(table)
            try:
                hashes = {_DynamoType(key[table.hash_key_attr]) for key in keys}
            except Exception:
                return _copy.deepcopy(table)
            backup = _copy.copy(table)
            items = _defaultdict(dict)
            for hash_value, partition in table.items.items():
                if hash_value in hashes:
                    items[hash_value] = _copy.deepcopy(partition)
                elif table.range_key_attr:
                    items[hash_value] = dict(partition)
                else:
                    items[hash_value] = partition
            backup.items = items
            return backup

        def deepcopy(self, value, memo=None):
            if not isinstance(value, _Table):
                return _copy.deepcopy(value, memo)
            if id(value) not in self._tables:
                self._tables[id(value)] = (value, self._backup(value))
            return self._tables[id(value)][1]

        def __getattr__(self, name):
            return getattr(_copy, name)

    _transact_write_items = _models.DynamoDBBackend.transact_write_items

    def transact_write_items(self, transact_items):
        module_copy = _models.copy
        _models.copy = _PartitionBackup(_written_partitions(transact_items))
        try:
            return _transact_write_items(self, transact_items)
        finally:
            _models.copy = module_copy

    _models.DynamoDBBackend.transact_write_items = transact_write_items

    _query = _Table.query
    _query_signature = _inspect.signature(_query)

    def query(self, *args, **kwargs):
        bound = _query_signature.bind(self, *args, **kwargs)
        hash_key = bound.arguments.get("hash_key")
        if bound.arguments.get("index_name") is not None or hash_key is None:
            return _query(self, *args, **kwargs)
        partition = self.items.get(hash_key)
        if partition is None:
            items = []
        elif self.range_key_attr:
            items = sorted(partition.values(), key=lambda item: item.range_key)
        else:
            items = [partition]
        self.all_items = lambda: items
        try:
            return _query(self, *args, **kwargs)
        finally:
            del self.all_items

    _Table.query = query
