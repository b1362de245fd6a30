import { lazy, type ComponentType, type LazyExoticComponent } from 'react';
import type { MessageKey } from './i18n.tsx';

/** The pages, who may open them, and the chunk each loads (one per page). */
export interface PageDef {
  path: string;
  title: MessageKey;
  roles: string[];
  component: LazyExoticComponent<ComponentType>;
}

const STAFF_ANALYSTS = ['admin', 'province_analyst', 'city_billing_clerk', 'collection_team', 'grid_manager', 'service_agent'];

export const PAGES: PageDef[] = [
  { path: '/monitoring', title: 'monitoring', roles: STAFF_ANALYSTS, component: lazy(() => import('./pages/Monitoring.tsx')) },
  { path: '/collection', title: 'collection', roles: STAFF_ANALYSTS, component: lazy(() => import('./pages/Collection.tsx')) },
  { path: '/billing', title: 'billing', roles: ['admin', 'province_analyst', 'city_billing_clerk', 'grid_manager', 'service_agent'], component: lazy(() => import('./pages/Billing.tsx')) },
  { path: '/dunning', title: 'dunning', roles: ['admin', 'province_analyst', 'city_billing_clerk', 'grid_manager', 'service_agent'], component: lazy(() => import('./pages/Dunning.tsx')) },
  { path: '/service', title: 'service', roles: ['admin', 'province_analyst', 'service_agent', 'grid_manager', 'collection_team'], component: lazy(() => import('./pages/Service.tsx')) },
  { path: '/workbench', title: 'workbench', roles: ['grid_manager', 'collection_team', 'admin', 'service_agent'], component: lazy(() => import('./pages/Workbench.tsx')) },
  { path: '/customers', title: 'customers', roles: STAFF_ANALYSTS, component: lazy(() => import('./pages/Customers.tsx')) },
  { path: '/portal', title: 'portal', roles: ['customer'], component: lazy(() => import('./pages/Portal.tsx')) },
];

/** Where a role lands after signing in. */
export function homeFor(role: string): string {
  if (role === 'customer') return '/portal';
  if (role === 'grid_manager') return '/workbench';
  return '/monitoring';
}

export function pagesFor(role: string): PageDef[] {
  return PAGES.filter((p) => p.roles.includes(role));
}

export function hasPage(role: string, path: string): boolean {
  return pagesFor(role).some((p) => p.path === path);
}
