"""The Fluent-compatible GraphQL endpoint (``POST /graphql``, docs/graphql.md): the schema,
its resolvers over the REST routes' services, the mapping, the limits and the endpoint."""
