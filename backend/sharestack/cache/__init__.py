from sharestack.cache.redis import RedisRoles

__all__ = ["RedisRoles"]
