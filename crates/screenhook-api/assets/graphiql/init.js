// Starts GraphiQL on /graphql. It is a file of its own, not an inline script, so the page runs
// under a Content-Security-Policy of script-src 'self'.
'use strict';

ReactDOM.createRoot(document.getElementById('graphiql')).render(
  React.createElement(GraphiQL, {
    fetcher: GraphiQL.createFetcher({ url: '/graphql' }),
    // Every request needs an API key; the headers tab opens with the header to fill in.
    // GraphiQL keeps headers in memory only (shouldPersistHeaders is off by default).
    defaultHeaders: JSON.stringify({ Authorization: 'Bearer <your API key>' }, null, 2),
    defaultEditorToolsVisibility: 'headers',
    defaultQuery: '{\n  company {\n    id\n    name\n    sandbox\n  }\n}\n',
  }),
);
