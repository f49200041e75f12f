import type { RouterRoute } from 'hono/types';

const HANDLER_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** A route path as Hono registers it (`/v1/ensembles/:name/predict`) → a matcher for concrete paths. */
function matcher(path: string): RegExp {
  const pattern = path
    .split('/')
    .map((seg) => (seg.startsWith(':') ? '[^/]+' : seg === '*' ? '.*' : seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  // exactly: the router does not match a trailing slash, so neither does the 405 (it is a 404)
  return new RegExp(`^${pattern}$`);
}

/**
 * The methods an app routes for `path`, read from its route table once: a request whose path
 * exists under another method is answered 405 with `Allow`, not 404 or a body-parsing 400.
 */
export function allowedMethodsOf(app: { routes: readonly RouterRoute[] }): (path: string) => string[] {
  let table: { re: RegExp; method: string }[] | undefined;
  return (path) => {
    table ??= app.routes
      .filter((r) => HANDLER_METHODS.has(r.method))
      .map((r) => ({ re: matcher(r.path), method: r.method }));
    const methods = new Set(table.filter((r) => r.re.test(path)).map((r) => r.method));
    if (methods.has('GET')) methods.add('HEAD');
    return [...methods].sort();
  };
}
