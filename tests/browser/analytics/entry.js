// The test page's copy of Segment's browser library, bundled from browser/node_modules.
import { AnalyticsBrowser } from "@segment/analytics-next";
window.AnalyticsBrowser = AnalyticsBrowser;
