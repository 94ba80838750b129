"""The account as a whole: deleting it (``DELETE /me``) and exporting its data
(``GET /me/export``). It owns no table: it composes the domains' services."""
