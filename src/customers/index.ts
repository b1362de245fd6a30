/** Customers: accounts, service points, contacts and channel agreements. */
export * from './store/customers.repository.ts';
export * from './store/agreements.repository.ts';
export * from './store/changes.repository.ts';
export * from './store/service-points.repository.ts';
export * from './store/slices.repository.ts';
export * from './domain/contacts.ts';
export { customersRoutes, requireCustomerAccess, loadCustomerFor, customerToDto, occupancyOf, type Occupancy } from './api/customers.routes.ts';
