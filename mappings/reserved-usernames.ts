/**
 * Authgear's default username rules, checked before sending so a record that would fail
 * server-side is reported locally with a clear reason instead.
 *
 * The reserved list is Authgear's bundled `reserved_name.txt` (authgear/authgear-server, repository
 * root), blocked by default (`block_reserved_usernames: true`) and compared case-insensitively.
 * A project may turn the block off or add excluded keywords; this module mirrors the defaults only.
 */

/** Authgear's default maximum username length. */
export const UsernameMaxLength = 40

// The stored copy of the upstream file ends with a line reading `wor` (kept as is; it may be a
// truncated `work`). Duplicates in the upstream file are removed.
const reserved: ReadonlySet<string> = new Set([
  'abuse', 'admin', 'administrator', 'administration', 'autoconfig', 'autodiscover',
  'broadcasthost', 'domain', 'editor', 'guest', 'host', 'hostmaster', 'info', 'keybase.txt',
  'localdomain', 'localhost', 'master', 'mail', 'mail0', 'mail1', 'mail2', 'mail3', 'mail4',
  'mail5', 'mail6', 'mail7', 'mail8', 'mail9', 'mailerdaemon', 'mailer-daemon', 'me', 'member',
  'members', 'moderator', 'nobody', 'owner', 'postmaster', 'poweruser', 'private', 'public',
  'root', 'rootuser', 'super', 'superuser', 'sysadmin', 'user', 'users', 'usenet', 'webmaster',
  'www-data', '.htaccess', '.htpasswd', '.well-known', '400', '401', '403', '404', '405', '406',
  '407', '408', '409', '410', '411', '412', '413', '414', '415', '416', '417', '421', '422', '423',
  '424', '426', '428', '429', '431', '500', '501', '502', '503', '504', '505', '506', '507', '508',
  '509', '510', '511', 'aes128-ctr', 'aes192-ctr', 'aes256-ctr', 'aes128-gcm', 'aes256-gcm',
  'ajax', 'alpha', 'amp', 'asc', 'assets', 'atom', 'beta', 'captcha', 'cdn', 'cgi', 'cgi-bin',
  'chacha20-poly1305', 'client', 'com', 'count', 'curve25519-sha256', 'crossdomain.xml', 'css',
  'db', 'debug', 'desc', 'dev', 'diffie-hellman-group-exchange-sha256',
  'diffie-hellman-group14-sha1', 'dns', 'dns0', 'dns1', 'dns2', 'dns3', 'dns4',
  'ecdh-sha2-nistp256', 'ecdh-sha2-nistp384', 'ecdh-sha2-nistp521', 'error', 'errors', 'exception',
  'false', 'favicon.ico', 'filter', 'ftp', 'get', 'git', 'hmac-sha', 'hmac-sha1', 'hmac-sha1-etm',
  'hmac-sha2-256', 'hmac-sha2-512', 'hmac-sha2-256-etm', 'hmac-sha2-512-etm', 'http', 'httpd',
  'https', 'humans.txt', 'icons', 'imap', 'img', 'is', 'isatap', 'it', 'js', 'json', 'limit',
  'live', 'map', 'mis', 'mx', 'net', 'network', 'noc', 'none', 'nil', 'ns', 'ns0', 'ns1', 'ns2',
  'ns3', 'ns4', 'ns5', 'ns6', 'ns7', 'ns8', 'ns9', 'null', 'post', 'prod', 'production',
  'robots.txt', 'rsa-sha2-512', 'rsa-sha2-2', 'rss', 'script', 'source', 'sitemap', 'smtp', 'sql',
  'ssh', 'ssh-rsa', 'ssl', 'ssladmin', 'ssladministrator', 'sslwebmaster', 'stage', 'staging',
  'static', 'style', 'styles', 'stylesheet', 'stylesheets', 'subdomain', 'sudo', 'telnet', 'test',
  'true', 'umac-64', 'umac-128', 'umac-64-etm', 'umac-128-etm', 'undefined', 'uucp', 'var', 'void',
  'webmail', 'wpad', 'www', 'www1', 'www2', 'www3', 'www4', 'zlib', 'ad', 'ads', 'api', 'auth',
  'authentication', 'authorize', 'avatar', 'banner', 'banners', 'cache', 'cas', 'chart', 'config',
  'cookies', 'cms', 'draft', 'email', 'head', 'header', 'htpasswd', 'metrics', 'mobile', 'noreply',
  'no-reply', 'oauth', 'oauth2', 'online', 'openid', 'passwd', 'password', 'pixel', 'pop', 'pop3',
  'postfix', 'redirect', 'request', 'response', 'sdk', 'shop', 'secure', 'security', 'session',
  'sessions', 'system', 'tablet', 'trial', 'username', 'yourname', 'yourusername', 'advertise',
  'advertising', 'affiliate', 'affiliates', 'billing', 'billings', 'business', 'campaign',
  'contest', 'cart', 'checkout', 'deals', 'hosting', 'investors', 'invoice', 'license',
  'licensing', 'marketing', 'marketplace', 'offer', 'offers', 'order', 'orders', 'pay', 'payment',
  'payments', 'partners', 'premium', 'sales', 'store', 'about', 'about-us', 'access', 'alert',
  'alerts', 'analytics', 'app', 'apps', 'account', 'accounts', 'backup', 'board', 'bookmark',
  'bookmarks', 'blog', 'blogs', 'calendar', 'careers', 'category', 'categories', 'chat', 'channel',
  'channels', 'comment', 'comments', 'community', 'contact', 'copyright', 'customer', 'customers',
  'dashboard', 'developer', 'developers', 'docs', 'documentation', 'download', 'downloads',
  'enterprise', 'event', 'events', 'example', 'explore', 'extensions', 'family', 'faq', 'faqs',
  'features', 'feed', 'feedback', 'feeds', 'file', 'files', 'fonts', 'form', 'forms', 'forum',
  'forums', 'friend', 'friends', 'follower', 'followers', 'following', 'forgot', 'forgotpassword',
  'forgot-password', 'group', 'groups', 'guidelines', 'guides', 'help', 'home', 'images',
  'invitations', 'invites', 'issues', 'jobs', 'legal', 'local', 'lost-password', 'media',
  'message', 'messages', 'more', 'my', 'new', 'news', 'next', 'newsletter', 'newsletters',
  'notification', 'notifications', 'overview', 'page', 'pages', 'photo', 'photos', 'plans',
  'plugins', 'policy', 'policies', 'popular', 'portfolio', 'press', 'pricing', 'privacy',
  'privacy-policy', 'preferences', 'previous', 'product', 'profile', 'profiles', 'project',
  'projects', 'quota', 'refund', 'refunds', 'registration', 'replies', 'reply', 'request-password',
  'reset-password', 'return', 'returns', 'reviews', 'rules', 'settings', 'setup', 'services',
  'site', 'sites', 'stat', 'stats', 'status', 'statistics', 'survey', 'tag', 'tags', 'team',
  'terms', 'terms-of-use', 'testimonials', 'theme', 'themes', 'today', 'tools', 'topic', 'topics',
  'tour', 'training', 'translations', 'trending', 'widget', 'widgets', 'you', 'video', 'website',
  'wiki', 'add', 'buy', 'change', 'clear', 'close', 'compare', 'compose', 'connect', 'copy',
  'create', 'customize', 'delete', 'destroy', 'disconnect', 'discuss', 'downvote', 'drop', 'edit',
  'exit', 'export', 'follow', 'go', 'hide', 'import', 'index', 'insert', 'invite', 'join', 'learn',
  'like', 'load', 'lock', 'login', 'logout', 'modify', 'print', 'purchase', 'put', 'reduce',
  'register', 'remove', 'report', 'reset', 'review', 'save', 'search', 'select', 'share', 'shift',
  'signin', 'signup', 'sort', 'subscribe', 'support', 'sync', 'translate', 'unfollow', 'update',
  'upgrade', 'unlike', 'unsubscribe', 'verify', 'view', 'vote', 'write', 'clientaccesspolicy.xml',
  'clients', 'contactus', 'contact-us', 'doc', 'enquiry', 'inquiry', 'myaccount', 'tos', 'weblog',
  'wor',
])

const allowed = /^[A-Za-z0-9_.-]+$/

/** Whether `name` is on Authgear's reserved-username list (case-insensitive). */
export function isReservedUsername(name: string): boolean {
  return reserved.has(name.toLowerCase())
}

/**
 * Why a (lower-cased) username breaks Authgear's default username rules, or `undefined` when it
 * is acceptable. The reason never repeats the username itself, so it is safe to log as is.
 */
export function usernameProblem(name: string): string | undefined {
  if (name.length === 0) return 'username is empty'
  if (name.length > UsernameMaxLength) {
    return `username is longer than ${UsernameMaxLength} characters`
  }
  if (!allowed.test(name)) {
    return 'username may contain only ASCII letters, digits, "_", "." and "-"'
  }
  if (isReservedUsername(name)) return 'username is a reserved name'
  return undefined
}
