"""Every GraphQL document ml-connector sends to Monday.com, in one place.

Each one asks for `complexity { ... }` so the client can track the account's per-minute budget
(https://developer.monday.com/api-reference/docs/rate-limits). tests/monday/test_queries.py
validates all of them against the pinned SDL (schema-2026-10.graphql) through the sandbox.
Names matter: the operation name keys the learned cost of each operation (see budget.py).
"""

from __future__ import annotations

COMPLEXITY = "complexity { before after query reset_in_x_seconds }"

# The "Test connection" ping and the account behind a token.
ME = f"""
query Me {{
  me {{ id name email }}
  account {{ id name slug }}
  {COMPLEXITY}
}}
"""

# Boards the token can see, for the editor's board picker: one page (`page` starts at 1); the
# picker reads pages until one comes back short (boards.list_boards).
BOARDS = f"""
query Boards($limit: Int!, $page: Int!) {{
  boards(limit: $limit, page: $page, state: active) {{ id name }}
  {COMPLEXITY}
}}
"""

# One board's live structure: what the column map is validated against. `settings` replaces the
# deprecated `settings_str` from 2025-10; both are read so a status column's labels are found in
# either (vendors doc §1.3, trap 5).
BOARD_STRUCTURE = f"""
query BoardStructure($ids: [ID!]) {{
  boards(ids: $ids) {{
    id
    name
    columns {{ id title type settings settings_str }}
    groups {{ id title }}
  }}
  {COMPLEXITY}
}}
"""

# column_values is ONE JSON-encoded string keyed by column id (trap 3).
CREATE_ITEM = f"""
mutation CreateItem($board: ID!, $group: String, $name: String!, $values: JSON) {{
  create_item(board_id: $board, group_id: $group, item_name: $name, column_values: $values) {{ id name }}
  {COMPLEXITY}
}}
"""

CHANGE_VALUES = f"""
mutation ChangeValues($board: ID!, $item: ID!, $values: JSON!) {{
  change_multiple_column_values(board_id: $board, item_id: $item, column_values: $values) {{ id }}
  {COMPLEXITY}
}}
"""

# Finding an item by its invoice (or bill) number when the RecordLink is missing (after a restore,
# or when a create's response was lost).
FIND_ITEMS = f"""
query FindItems($board: ID!, $column: String!, $value: String!) {{
  items_page_by_column_values(board_id: $board, limit: 2, columns: [{{column_id: $column, column_values: [$value]}}]) {{
    cursor
    items {{ id name }}
  }}
  {COMPLEXITY}
}}
"""

# What an item shows now in some columns: read just before an update overwrites a status column, to
# see whether a person changed it on Monday since ml-connector wrote it (sync.py, drift).
ITEM_VALUES = f"""
query ItemValues($item: ID!, $columns: [String!]) {{
  items(ids: [$item]) {{ id column_values(ids: $columns) {{ id type text value }} }}
  {COMPLEXITY}
}}
"""

ALL = {
    "Me": ME,
    "Boards": BOARDS,
    "BoardStructure": BOARD_STRUCTURE,
    "CreateItem": CREATE_ITEM,
    "ChangeValues": CHANGE_VALUES,
    "FindItems": FIND_ITEMS,
    "ItemValues": ITEM_VALUES,
}
MUTATIONS = frozenset({"CreateItem", "ChangeValues"})
